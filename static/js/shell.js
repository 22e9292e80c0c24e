// Boosted navigation (hx-boost on <body>, templates/base.html): in-app links and GET forms fetch
// the next page and swap only #page (menu and content), so the player bar after it keeps its
// <audio>, its event stream and its state, and the music goes on. Everything a full page load
// does is done here: title (htmx takes the response's <title>), history, focus and scroll.
// Without JavaScript the links and forms are ordinary ones.
(() => {
  "use strict";

  // What must stay a full load: POST forms (sign-in, uploads, deletes: redirects and messages
  // belong to a whole page), signing in and up (the shell changes hands), downloads and links
  // that leave the app's pages (admin, media). Links with a target or to other origins htmx
  // leaves alone by itself.
  const FULL_LOAD = [
    "form[method=post i]",
    "a[download]",
    "a[href^='/accounts/login/']",
    "a[href^='/accounts/signup/']",
    "a[href^='/admin/']",
    "a[href^='/media/']",
    "a[href^='/exports/']",
  ].join(", ");

  document.addEventListener("htmx:beforeProcessNode", (event) => {
    const node = event.detail.elt;
    if (!(node instanceof Element)) return;
    for (const element of [node, ...node.querySelectorAll(FULL_LOAD)]) {
      if (element.matches(FULL_LOAD) && !element.hasAttribute("hx-boost")) {
        element.setAttribute("hx-boost", "false");
      }
    }
  });

  // htmx keeps visited pages in this tab's sessionStorage for back and forward: when the page is
  // for someone else than the last one (signed out, signed in as another user), forget them.
  try {
    const shell = document.body.dataset.shell;
    if (sessionStorage.getItem("encore.shell") !== shell) {
      sessionStorage.removeItem("htmx-history-cache");
      sessionStorage.setItem("encore.shell", shell);
    }
  } catch {
    /* storage refused: htmx keeps no cache either */
  }

  // htmx reads a boosted link's href once; scripts change some later (the player bar's album
  // link follows the track): go where the link points now.
  document.addEventListener("htmx:configRequest", (event) => {
    const link = event.detail.elt;
    if (event.detail.boosted && link instanceof HTMLAnchorElement) {
      event.detail.path = link.getAttribute("href");
    }
  });

  // The response of a boosted request, parsed once to decide how to show it.
  let arriving = null;

  function loadInFull(detail) {
    detail.shouldSwap = false;
    const url = detail.xhr.responseURL || detail.pathInfo.finalRequestPath;
    if (detail.requestConfig.verb === "get") window.location.assign(url);
    else window.location.reload();
  }

  document.addEventListener("htmx:beforeSwap", (event) => {
    const detail = event.detail;
    if (!detail.boosted) return;
    const next = new DOMParser().parseFromString(detail.xhr.responseText || "", "text/html");
    // Not one of our pages (a plain-text error, a file), or a page for someone else (the session
    // ended and the sign-in page came back): load it as the browser would.
    if (!next.getElementById("page") || next.body.dataset.shell !== document.body.dataset.shell) {
      loadInFull(detail);
      return;
    }
    // Error pages (404, 403, 500, 429 …) are pages too: show them like any other.
    detail.shouldSwap = true;
    detail.isError = false;
    detail.target = document.getElementById("page");
    detail.selectOverride = "#page";
    detail.swapOverride = "outerHTML";
    arriving = { url: detail.pathInfo.finalRequestPath };
  });

  // Where a screen reader would be after a page load: the new page's heading, or its content.
  function focusContent() {
    const main = document.getElementById("main");
    if (!main) return;
    const target = main.querySelector("h1") || main;
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    if (!event.detail.boosted || !arriving) return;
    arriving = null;
    const hash = window.location.hash.slice(1);
    const anchor = hash && document.getElementById(hash);
    if (anchor) anchor.scrollIntoView();
    else window.scrollTo(0, 0);
    focusContent();
  });

  // A boosted request that fails on the way (no network, too slow) is loaded in full by
  // static/js/htmx-errors.js, with every other failed htmx request.

  // Back and forward: htmx restores #page (and, from its cache, the scroll position).
  document.addEventListener("htmx:historyRestore", focusContent);

  // On phones tables scroll sideways inside their cards (CSS); one that does must be reachable by
  // keyboard to be scrolled, so it joins the tab order (and only then).
  function focusableScrollers(root) {
    for (const table of (root.querySelectorAll ? root : document).querySelectorAll("main table")) {
      if (table.scrollWidth > table.clientWidth + 1) table.tabIndex = 0;
      else table.removeAttribute("tabindex");
    }
  }
  document.addEventListener("htmx:load", (event) => focusableScrollers(event.target));
  window.addEventListener("resize", () => focusableScrollers(document));
  focusableScrollers(document);
})();
