// Theme picker: apply the choice at once and remember it in the cookie the server reads,
// instead of a full form post and reload. Without JavaScript the form post does the same.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".theme-picker button[name=theme]");
  if (!button) return;
  event.preventDefault();
  const theme = button.value;
  document.documentElement.dataset.theme = theme;
  document.cookie = `theme=${theme}; path=/; max-age=31536000; samesite=lax`;
  for (const other of button.form.querySelectorAll("button[name=theme]")) {
    other.setAttribute("aria-pressed", String(other === button));
  }
});
