// Destructive forms carry data-confirm="question": ask before sending them, plain or over htmx.
// Listening in the capture phase runs before htmx's own submit handler, so a "Cancel" stops both.
// Without JavaScript the form posts directly (each such action can be undone or is re-checked).
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  },
  true,
);
