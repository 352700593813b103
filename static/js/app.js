// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Language switcher and other selects that submit their form when changed.
  document.querySelectorAll("select.js-autosubmit").forEach((select) => {
    select.addEventListener("change", () => select.form.submit());
  });
  document.querySelectorAll(".js-hide").forEach((el) => { el.hidden = true; });

  // Buttons that ask before a destructive action.
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const message = button && button.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Live character counters for text areas with a maximum length.
  document.querySelectorAll("textarea[maxlength]").forEach((area) => {
    const counter = document.createElement("p");
    counter.className = "help";
    counter.setAttribute("aria-live", "polite");
    const update = () => {
      const left = area.maxLength - area.value.length;
      counter.textContent = (area.dataset.counterText || "{n} characters left").replace("{n}", left);
    };
    area.insertAdjacentElement("afterend", counter);
    area.addEventListener("input", update);
    update();
  });
});
