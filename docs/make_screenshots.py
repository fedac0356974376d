"""Render docs/screenshots/*.png from the sample calls in headless Chromium.

Run from the repository root: `python docs/make_screenshots.py`. It builds a throwaway database from
samples/ (the same stages `callreview run` uses), serves the app on 127.0.0.1, and signs in as a
reviewer and a supervisor. Nothing outside a temporary folder and docs/screenshots/ is written.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import FAST_SCRYPT_N, PASSWORD, _settings, build_sample_data  # noqa: E402
from tests.web.live import serve_in_thread  # noqa: E402
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
# (user, [(page, file)]): a reviewer's queue and call page, a supervisor's search results.
SHOTS = (("alice", (("/queue", "queue.png"), ("/calls/CR-SAMPLE-002", "call.png"))),
         ("sam", (("/search?q=knock", "search.png"),)))


def _sign_in(page, username: str) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


def main() -> None:
    from playwright.sync_api import sync_playwright

    from callreview.web.app import create_app
    from callreview.web.settings import WebSettings

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        build_sample_data(data_dir)
        app = create_app(storage=_settings(data_dir),
                         web=WebSettings(timezone="America/Kentucky/Louisville", scrypt_n=FAST_SCRYPT_N))
        with serve_in_thread(app) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for username, shots in SHOTS:
                context = browser.new_context(base_url=url, viewport={"width": 1280, "height": 900})
                page = context.new_page()
                _sign_in(page, username)
                for path, name in shots:
                    page.goto(path)
                    page.screenshot(path=str(OUT / name), full_page=True)
                    print(OUT / name)
                context.close()
            browser.close()


if __name__ == "__main__":
    main()
