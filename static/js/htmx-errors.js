// No dead ends: when an htmx request fails (an error status, no network, or too slow), say so
// where its answer would have gone, with a Retry button that sends the same request again,
// instead of leaving "Loading…" forever. A boosted page change that fails loads the page
// normally, so the browser shows the real (branded) error page.
(() => {
  // A section that has not answered in this long is not going to; say so and offer Retry.
  htmx.config.timeout = 20000;

  function failed(event) {
    const detail = event.detail;
    const source = detail.elt;
    const verb = (detail.requestConfig?.verb || "get").toUpperCase();
    const path = detail.pathInfo?.finalRequestPath || detail.requestConfig?.path;
    if (detail.boosted || detail.requestConfig?.boosted) {
      window.location.assign(path);
      return;
    }
    const note = document.createElement("p");
    note.className = "load-failed";
    note.setAttribute("role", "alert");
    note.append("Couldn't load. ");
    if (verb === "GET") {
      // Reading again is safe; a failed write is only reported, never re-sent on its own.
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "load-retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => {
        retry.disabled = true;
        retry.textContent = "Loading…";
        // The link that asked may have been swapped away; the region it filled then asks.
        const from = document.body.contains(source) ? source : detail.target;
        htmx.ajax("GET", path, { source: from, target: detail.target });
      });
      note.append(retry);
    } else {
      note.firstChild.textContent = "Couldn't save: check your connection and try again.";
    }
    if (verb === "GET" && detail.target) {
      detail.target.replaceChildren(note);
      detail.target.removeAttribute("aria-busy");
    } else {
      if (source.nextElementSibling?.classList.contains("load-failed")) source.nextElementSibling.remove();
      source.after(note);
    }
  }

  for (const name of ["htmx:responseError", "htmx:sendError", "htmx:timeout"]) {
    document.addEventListener(name, failed);
  }
})();
