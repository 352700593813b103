// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  // Language switcher and other selects that submit their form when a choice is picked with the mouse.
  // With the keyboard, arrow keys and typing only move the selection (WCAG 3.2.2, no change of context on
  // input): the form's hidden button comes back, and Enter or that button submits.
  document.querySelectorAll(".js-hide").forEach((el) => { el.hidden = true; });
  document.querySelectorAll("select.js-autosubmit").forEach((select) => {
    let byKeyboard = false;
    select.addEventListener("pointerdown", () => { byKeyboard = false; });
    select.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        setTimeout(() => select.form.submit(), 0);  // after an open list has taken the choice
      } else if (event.key !== "Tab") {
        byKeyboard = true;
      }
    });
    select.addEventListener("change", () => {
      if (!byKeyboard) {
        select.form.submit();
        return;
      }
      select.form.querySelectorAll(".js-hide").forEach((el) => { el.hidden = false; });
    });
  });

  // Buttons that ask before a destructive action.
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    const message = button && button.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // Live character counters for text areas with a maximum length, in the page's language (base.html).
  const counterText = document.body.dataset.counterText || "{n} characters left";
  document.querySelectorAll("textarea[maxlength]").forEach((area) => {
    const counter = document.createElement("p");
    counter.className = "help";
    counter.setAttribute("aria-live", "polite");
    const update = () => {
      const left = area.maxLength - area.value.length;
      counter.textContent = counterText.replace("{n}", left);
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
