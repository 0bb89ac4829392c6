// Saving a view saves the filters as the address bar has them now: an htmx filter swap
// changes the address, not this page's hidden field.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("#save-view-form");
  if (!form) return;
  form.querySelector("input[name=query]").value = window.location.search.replace(/^\?/, "");
});
