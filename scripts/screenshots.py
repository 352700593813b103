"""Take screenshots of pages as each demo role, for a person to look at.

    python scripts/screenshots.py --base http://127.0.0.1:5000 --out /tmp/shots \
        student:/ coordinator:/partners/institutions anonymous:/auth/login

Each argument is ROLE:PATH (ROLE is anonymous, student, coordinator, partner or admin); add @LANG
(e.g. student:/@fr) to switch the interface language first. Needs Chromium at /usr/bin/chromium.
"""
import argparse
import os
import re

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--out", default="/tmp/shots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--mobile", action="store_true", help="a 390px wide viewport")
    parser.add_argument("pages", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    width = 390 if args.mobile else args.width
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        contexts = {}
        for spec in args.pages:
            lang = None
            if "@" in spec:
                spec, lang = spec.rsplit("@", 1)
            role, path = spec.split(":", 1)
            key = (role, lang)
            if key not in contexts:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                if lang:
                    page.goto(args.base + "/auth/login")
                    with page.expect_navigation():
                        page.select_option("#lang-select", lang)
                if role != "anonymous":
                    page.goto(args.base + "/auth/login")
                    page.fill("input[name=email]", f"{role}@demo.test")
                    page.fill("input[name=password]", "demo-password")
                    with page.expect_navigation():
                        page.click("main form input[type=submit], main form button[type=submit]")
                contexts[key] = page
            page = contexts[key]
            page.goto(args.base + path)
            page.wait_for_load_state("networkidle")
            name = re.sub(r"[^\w]+", "_", f"{role}{path}{'_' + lang if lang else ''}").strip("_") + ".png"
            page.screenshot(path=os.path.join(args.out, name), full_page=True)
            print(os.path.join(args.out, name), page.url)
        browser.close()


if __name__ == "__main__":
    main()
