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

// Background job pages: poll the status and reload when the job is over.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector(".job[data-status-url]");
  if (!box || box.dataset.over === "true") return;
  const bar = box.querySelector("progress");
  const count = box.querySelector(".job-count");
  const message = box.querySelector(".job-message");
  const poll = async () => {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      const data = await response.json();
      if (bar) bar.value = data.percent;
      if (count) count.textContent = data.done;
      if (message && data.message) message.textContent = data.message;
      if (data.over) { window.location.reload(); return; }
    } catch (e) { /* try again */ }
    setTimeout(poll, 1500);
  };
  setTimeout(poll, 1000);
});
