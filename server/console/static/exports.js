// The export links follow the filters: an htmx filter swap changes the address bar, not
// the links, so a click takes the filters from the address as it is now.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-export]");
  if (!link) return;
  const params = new URLSearchParams(window.location.search);
  params.delete("after");
  params.set("format", link.dataset.export);
  link.href = link.pathname + "?" + params.toString();
});
