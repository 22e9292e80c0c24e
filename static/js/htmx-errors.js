// No dead ends: when an htmx request fails (an error status, no network, or too slow), say so
// where its answer would have gone, with a Retry button that sends the same request again,
// instead of leaving "Loading…" forever. A boosted page change that fails loads the page
// normally, so the browser shows the real (branded) error page.
(() => {
  // A section that has not answered in this long is not going to; say so and offer Retry.
  htmx.config.timeout = 20000;

  function note(text, role) {
    const p = document.createElement("p");
    p.className = "load-failed";
    p.setAttribute("role", role);
    p.textContent = text;
    return p;
  }

  function retryButton(source, target, path, swap) {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Retry";
    button.addEventListener("click", () => {
      button.disabled = true;
      button.textContent = "Loading…";
      // The link that asked may have been swapped away; the region it filled then asks.
      const from = document.body.contains(source) ? source : target;
      htmx.ajax("GET", path, { source: from, target, swap });
    });
    return button;
  }

  function failed(event) {
    const { elt: source, target, requestConfig, pathInfo, boosted } = event.detail;
    const verb = (requestConfig?.verb || "get").toUpperCase();
    const path = pathInfo?.finalRequestPath || requestConfig?.path;
    if (boosted || requestConfig?.boosted) {
      window.location.assign(path);
      return;
    }
    if (verb !== "GET") {
      // A failed write is reported beside its form, never re-sent on its own.
      if (source.nextElementSibling?.classList.contains("load-failed")) source.nextElementSibling.remove();
      source.after(note("Couldn't save: check your connection and try again.", "alert"));
      return;
    }
    if (/\bevery\b/.test(source.getAttribute("hx-trigger") || "")) {
      // A polled region keeps what it showed; its own polling is the retry, and the next
      // answer replaces the note. role=status: not an alert repeated every second.
      target.querySelector(":scope > .load-failed")?.remove();
      target.prepend(note("Couldn't refresh; trying again.", "status"));
      return;
    }
    // Read now: the element that asked (and says how to swap) is about to be replaced.
    const swap = source.closest("[hx-swap]")?.getAttribute("hx-swap") || undefined;
    const message = note("Couldn't load. ", "alert");
    message.append(retryButton(source, target, path, swap));
    target.replaceChildren(message);
    target.removeAttribute("aria-busy");
  }

  for (const name of ["htmx:responseError", "htmx:sendError", "htmx:timeout"]) {
    document.addEventListener(name, failed);
  }
})();
