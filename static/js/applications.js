// Applications pages: progressive enhancements only (every page works without JavaScript).
document.addEventListener("DOMContentLoaded", () => {
  // Pipeline: a "select all" box for the bulk actions (hidden without JavaScript).
  document.querySelectorAll("input.js-select-all").forEach((all) => {
    const table = all.closest("table");
    const boxes = () => Array.from(table.querySelectorAll('tbody input[type="checkbox"][name="ids"]'));
    all.hidden = false;
    all.addEventListener("change", () => boxes().forEach((box) => { box.checked = all.checked; }));
    table.addEventListener("change", (event) => {
      if (event.target === all) return;
      const list = boxes();
      all.checked = list.length > 0 && list.every((box) => box.checked);
      all.indeterminate = !all.checked && list.some((box) => box.checked);
    });
  });
});
