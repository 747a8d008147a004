// The order desk's select-all box: it checks or clears every order box of its
// form. Listened for on the document, so that it keeps working after htmx
// replaces the list.
document.addEventListener("change", function (ev) {
  var box = ev.target;
  if (!box.matches || !box.matches("input[data-select-all]")) return;
  var form = box.form;
  if (!form) return;
  form.querySelectorAll('input[type="checkbox"][name="' + box.dataset.selectAll + '"]').forEach(function (c) {
    c.checked = box.checked;
  });
});
// A box of an order unchecked (or all checked) shows on the select-all box.
document.addEventListener("change", function (ev) {
  var c = ev.target;
  if (!c.form || c.type !== "checkbox" || c.dataset.selectAll !== undefined) return;
  var all = c.form.querySelector("input[data-select-all]");
  if (!all || c.name !== all.dataset.selectAll) return;
  var boxes = c.form.querySelectorAll('input[type="checkbox"][name="' + c.name + '"]');
  var checked = c.form.querySelectorAll('input[type="checkbox"][name="' + c.name + '"]:checked');
  all.checked = boxes.length > 0 && checked.length === boxes.length;
  all.indeterminate = checked.length > 0 && checked.length < boxes.length;
});
