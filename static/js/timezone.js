// Sign-up fills in the browser's time zone. Account settings: while the saved time zone is still
// UTC, offer the browser's own zone with one click (the page marks the offer with data-tz-suggest
// only in that case). Runs again on regions HTMX swaps in. Without JavaScript the select works as
// it is.
(() => {
  const browserZone = (() => {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch {
      return "";
    }
  })();

  // Sign-up: a new account starts in the browser's zone (the server ignores one it does not know).
  function fill(root) {
    for (const input of root.querySelectorAll("input[type=hidden][name=time_zone]")) {
      if (!input.value) input.value = browserZone;
    }
  }

  function offer(root) {
    fill(root);
    for (const hint of root.querySelectorAll("[data-tz-suggest]")) {
      const select = hint.closest("form")?.querySelector("select[name=time_zone]");
      // Only zones the server offers: a browser may report one tzdata does not know.
      const known = select && [...select.options].some((option) => option.value === browserZone);
      if (!known || browserZone === "UTC" || select.value === browserZone) continue;
      hint.querySelector("[data-tz-name]").textContent = browserZone;
      hint.hidden = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-tz-suggest] [data-tz-use]");
    if (!button) return;
    const hint = button.closest("[data-tz-suggest]");
    const select = hint.closest("form").querySelector("select[name=time_zone]");
    select.value = browserZone;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    hint.hidden = true;
    select.focus();
  });

  document.addEventListener("htmx:load", (event) => offer(event.detail.elt));
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => offer(document));
  } else {
    offer(document);
  }
})();
