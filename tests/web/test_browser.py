"""The app in headless Chromium (Debian's /usr/bin/chromium driven by Python playwright).

One server per module on a private copy of the sample data; each test gets a fresh browser context
(no shared cookies). Tests touch different items so their order does not matter: the reviewer
disposes of CR-SAMPLE-002 (item 1), the supervisor tries CR-SAMPLE-003 (item 2); bob, recused from
Sgt. Lowry's calls, is refused CR-LOWRY-2 and corrects CR-SAMPLE-001.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.web.conftest import PASSWORD, _settings
from tests.web.live import serve_in_thread

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_url(sample_data_template, tmp_path_factory):
    from callreview.web.app import create_app
    from callreview.web.settings import WebSettings
    from callreview.storage.db import dispose_engines
    from tests.web.conftest import FAST_SCRYPT_N

    data_dir = tmp_path_factory.mktemp("browser") / "data"
    shutil.copytree(sample_data_template, data_dir)
    from callreview.service.conflicts import add_conflict
    from callreview.storage.db import open_session

    from calldata import add_call

    with open_session(_settings(data_dir)) as session:  # bob may not judge Sgt. Lowry's calls
        add_call(session, "CR-LOWRY-2", [("ice", "Can your officers knock on his door for us?")],
                 officer="Sgt. P. Lowry", verdict="mismatch", reasons=("door_knock_request_dispatched",),
                 tags=(("door_knock", 0, None),))
        session.commit()
        add_conflict(session, "cli:admin", "bob", "P. Lowry", "worked his shift for six years")
    app = create_app(storage=_settings(data_dir), web=WebSettings(scrypt_n=FAST_SCRYPT_N, double_review=""))
    with serve_in_thread(app) as url:
        yield url
    dispose_engines()


@pytest.fixture(scope="module")
def double_review_url(sample_data_template, tmp_path_factory):
    """A second server, with the shipped default: high items need two blind findings."""
    from callreview.storage.db import dispose_engines
    from callreview.web.app import create_app
    from callreview.web.settings import WebSettings
    from tests.web.conftest import FAST_SCRYPT_N

    data_dir = tmp_path_factory.mktemp("browser-double") / "data"
    shutil.copytree(sample_data_template, data_dir)
    with serve_in_thread(create_app(storage=_settings(data_dir), web=WebSettings(scrypt_n=FAST_SCRYPT_N))) as url:
        yield url
    dispose_engines()


@pytest.fixture
def page(browser, live_url):
    context = browser.new_context(base_url=live_url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status == 404 else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    yield page
    context.close()


def sign_in(page, username: str) -> None:
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state()


def _current_time(page) -> float:
    return page.evaluate("document.getElementById('player').currentTime")


def test_reviewer_works_an_item_from_the_queue_to_a_disposition(page):
    audio_statuses: list[int] = []
    page.on("response", lambda r: audio_statuses.append(r.status) if r.url.endswith("/audio") else None)
    sign_in(page, "alice")
    assert page.url.endswith("/queue")
    row = page.locator("tr.item[data-call='CR-SAMPLE-002']")
    assert "HIGH" in row.inner_text() and "door knock" in row.inner_text()  # CSS upper-cases the badge
    row.locator("button.claim").click()
    page.wait_for_url(re.compile(r"/calls/CR-SAMPLE-002"))
    assert "You claimed this item" in page.inner_text("main")
    assert page.locator("mark.tag-door_knock").first.is_visible()
    # Clicking a transcript line seeks the recording (range requests make that possible).
    page.click("#seg-2 .text")
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 10.72) < 0.05")
    assert 206 in audio_statuses
    page.check("input[name=disposition][value=confirmed]")
    page.fill("textarea[name=note]", "ICE asked for a door knock; two cars were sent.")
    page.click("button:has-text('Record disposition')")
    page.wait_for_url(re.compile(r"msg=disposed"))
    history = page.inner_text("section.history")
    assert "confirmed" in history and "two cars were sent" in history and "alice" in history
    assert page.locator("form.dispose").count() == 0
    page.goto("/queue")
    assert page.locator("tr.item[data-call='CR-SAMPLE-002']").count() == 0
    assert page.problems == []


def test_supervisor_searches_and_opens_a_result_at_the_moment_said(page):
    sign_in(page, "sam")
    assert page.url.endswith("/search")
    page.fill("input[name=q]", '"knock on the door"')
    page.click("button:has-text('Search')")
    page.wait_for_selector("li.hit")
    assert page.inner_text("li.hit mark") == "knock on the door"
    page.click("a.hit-link")
    page.wait_for_url(re.compile(r"/calls/CR-SAMPLE-002#t=10\.72$"))
    page.wait_for_function("Math.abs(document.getElementById('player').currentTime - 10.72) < 0.05")
    assert "current" in page.get_attribute("#seg-2", "class")
    assert page.problems == []


def test_supervisor_cannot_dispose_even_by_posting_the_form_directly(page):
    sign_in(page, "sam")
    page.goto("/calls/CR-SAMPLE-003")
    assert page.locator("form.dispose").count() == 0
    assert "Dispositions are recorded by internal affairs" in page.inner_text("section.disposition")
    token = page.get_attribute("input[name=csrf_token]", "value")
    status = page.evaluate("""async (token) => {
        const body = new URLSearchParams({csrf_token: token, disposition: "dismissed", note: "bypassing the UI"});
        const r = await fetch("/items/2/disposition", {method: "POST", body});
        return r.status; }""", token)
    assert status == 403
    page.goto("/queue")
    assert "Not allowed" in page.inner_text("main")
    page.goto("/calls/CR-SAMPLE-003")
    assert "None yet." in page.inner_text("section.history")


@pytest.mark.parametrize("path", ["/queue", "/calls/CR-SAMPLE-002", "/search?q=knock", "/calls/CR-SAMPLE-002/audio",
                                  "/admin/audit"])
def test_anonymous_user_sees_nothing(page, path):
    page.goto(path)
    assert "/login?next=" in page.url
    text = page.inner_text("body")
    assert "Sign in" in text
    assert "CR-SAMPLE" not in text and "Lowry" not in text and "knock" not in text.lower()
    assert page.locator("audio").count() == 0


def test_reviewer_corrects_a_misheard_segment_and_the_verdict_flips(page):
    # CR-SAMPLE-001 is consistent: dispatched on an active felony warrant. Heard again, ICE also asked
    # for a door knock, which no dispatch may serve.
    sign_in(page, "bob")
    page.goto("/calls/CR-SAMPLE-001")
    assert page.locator("h1 .verdict").inner_text() == "consistent"
    segment = page.locator("#seg-1")
    segment.locator("summary:has-text('Correct')").click()
    segment.locator("textarea[name=text]").fill("This is Officer Marsh with ICE. Our subject has a felony warrant for "
                                                "burglary out of Jefferson Circuit Court. Can your unit knock on his "
                                                "door for us?")
    segment.locator("input[name=reason]").fill("listened at 0:03; the request at the end was cut off")
    segment.locator("button:has-text('Save as a new version')").click()
    page.wait_for_load_state()
    assert page.locator("h1 .verdict").inner_text() == "mismatch"
    assert "Correction saved as a new transcript version" in page.content()
    assert "Version 2 of 2" in page.locator(".transcript-meta").inner_text()
    page.click("a:has-text('Versions and corrections')")
    page.wait_for_load_state()
    assert "corrected by bob" in page.content()
    assert page.locator(".versions ins").first.inner_text().startswith("Can your unit knock")
    assert page.problems == []


def test_a_recused_reviewer_is_shown_why_and_refused_even_when_posting_directly(page):
    sign_in(page, "bob")
    page.goto("/queue")
    row = page.locator("tr.item[data-call='CR-LOWRY-2']")
    assert row.locator(".recused").inner_text() == "Recused" and row.locator("button.claim").count() == 0
    page.goto("/calls/CR-LOWRY-2")
    assert "You are recused from calls of P. Lowry (worked his shift for six years)" in page.inner_text("main")
    assert page.locator("button.claim").count() == 0
    token = page.get_attribute("input[name=csrf_token]", "value")
    refused = page.evaluate("""async (token) => {
        // item 3: CR-LOWRY-2's (the samples hold items 1 and 2)
        const r = await fetch("/items/3/claim", {method: "POST", body: new URLSearchParams({csrf_token: token})});
        return [r.status, await r.text()]; }""", token)
    assert refused[0] == 409 and "bob is recused from calls of Sgt. P. Lowry" in refused[1]


def test_double_review_through_adjudication(browser, double_review_url):
    """alice and bob give different findings on CR-SAMPLE-002, blind; lee, a lead, settles it."""
    def as_user(name):
        context = browser.new_context(base_url=double_review_url)
        p = context.new_page()
        p.set_default_timeout(10_000)
        sign_in(p, name)
        return context, p

    def give(p, finding, note):
        p.goto("/calls/CR-SAMPLE-002")
        p.check(f"input[name=disposition][value={finding}]")
        p.fill("textarea[name=note]", note)
        p.click("button:has-text('Record disposition')")
        p.wait_for_load_state()

    alice_ctx, alice = as_user("alice")
    give(alice, "confirmed", "door knock asked for, officers sent; codeword tangerine")
    assert "This item needs a second reviewer's finding" in alice.inner_text("main")
    assert "You gave the first finding" in alice.inner_text("section.disposition")

    bob_ctx, bob = as_user("bob")
    bob.goto("/calls/CR-SAMPLE-002")
    assert "tangerine" not in bob.content() and "hidden until both reviewers" in bob.inner_text("section.history")
    give(bob, "dismissed", "the officers only stood by; no knock")
    assert "waits for a lead to adjudicate" in bob.inner_text("main")

    lee_ctx, lee = as_user("lee")
    assert lee.url.endswith("/adjudication")
    lee.click("a:has-text('Adjudicate')")
    lee.wait_for_load_state()
    history = lee.inner_text("section.history")
    assert "tangerine" in history and "no knock" in history
    lee.check("form.adjudicate input[name=disposition][value=confirmed]")
    lee.fill("form.adjudicate textarea[name=note]", "the request at 0:12 is a door knock")
    lee.click("button:has-text('Record adjudication')")
    lee.wait_for_load_state()
    assert "Adjudication recorded; the item is closed." in lee.inner_text("main")
    assert "adjudication" in lee.inner_text("section.history")
    for context in (alice_ctx, bob_ctx, lee_ctx):
        context.close()


@pytest.fixture(scope="module")
def unsure_word_url(sample_data_template, tmp_path_factory):
    """A third server, where CR-SAMPLE-001's verdict hinges on one word the recognizer was unsure of."""
    import json

    from callreview.storage.calls import current_assessment, find_call
    from callreview.storage.db import dispose_engines, open_session
    from callreview.web.app import create_app
    from callreview.web.settings import WebSettings
    from tests.web.conftest import FAST_SCRYPT_N

    data_dir = tmp_path_factory.mktemp("browser-unsure") / "data"
    shutil.copytree(sample_data_template, data_dir)
    doubt = {"kind": "criminal_warrant", "reading": "may_not_count", "segment": 1, "speaker": "ice",
             "start": UNSURE_START, "end": UNSURE_END, "char_start": 38, "char_end": 44, "text": "felony",
             "rule": "transcript.min_word_probability", "why": "Whisper heard this word with probability 0.31."}
    with open_session(_settings(data_dir)) as s:
        record = current_assessment(s, find_call(s, "CR-SAMPLE-001").id)
        record.verdict, record.reasons_json, record.doubts_json = ("needs_review", '["uncertain_transcript"]',
                                                                   json.dumps([doubt]))
        s.add(record)
        s.commit()
    app = create_app(storage=_settings(data_dir), web=WebSettings(scrypt_n=FAST_SCRYPT_N, double_review=""))
    with serve_in_thread(app) as url:
        yield url
    dispose_engines()


UNSURE_START, UNSURE_END = 5.0, 5.6


def test_the_words_a_verdict_hinges_on_play_alone_and_slowed(browser, unsure_word_url):
    context = browser.new_context(base_url=unsure_word_url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, "alice")
    page.goto("/calls/CR-SAMPLE-001")
    doubts = page.locator("ul.doubts li")
    assert doubts.count() == 1
    doubts.locator("button:has-text('Slowed')").click()
    # It plays from half a second before the word, at 0.6 speed ...
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert page.evaluate("document.getElementById('player').playbackRate") == 0.6
    # ... and stops by itself soon after the word, back at normal speed for whatever is played next.
    page.wait_for_function("() => document.getElementById('player').paused")
    stopped = _current_time(page)
    assert UNSURE_END + 0.5 <= stopped < UNSURE_END + 1.0, stopped
    assert page.evaluate("document.getElementById('player').playbackRate") == 1
    doubts.locator("button:has-text('Play these words')").click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert page.evaluate("document.getElementById('player').playbackRate") == 1
    assert UNSURE_START - 0.5 <= _current_time(page) < UNSURE_END + 0.5
    page.wait_for_function("() => document.getElementById('player').paused")
    assert UNSURE_END + 0.5 <= _current_time(page) < UNSURE_END + 1.0
    context.close()
