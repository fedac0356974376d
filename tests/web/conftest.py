"""Web app fixtures: the sample calls run through the real pipeline once, copied per test; users; clients.

The sample database is built once per session (intake, transcript import, tagging and the policy check,
the same stage functions `callreview run` uses) and copied into each test's tmp_path, so every test
starts from the same real data and may change it freely.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import copy_samples

PASSWORD = "correct horse battery staple"
# (name, role). Hashes use a low scrypt cost so signing in stays fast; test_auth checks the real cost.
USERS = (("alice", "reviewer"), ("bob", "reviewer"), ("cara", "reviewer"), ("sam", "supervisor"), ("ada", "admin"),
         ("lee", "lead"))
FAST_SCRYPT_N = 2 ** 10
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _settings(data_dir: Path):
    from callreview.storage.settings import StorageSettings

    return StorageSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'callreview.db'}")


def build_sample_data(data_dir: Path) -> None:
    """Run the three sample calls through intake, transcript import and assessment into `data_dir`."""
    from callreview.storage.db import dispose_engines

    seed_sample_data(_settings(data_dir))
    dispose_engines()  # checkpoints the WAL, so copying the folder copies everything


def seed_sample_data(settings) -> None:
    """The sample calls (intake, transcript import, assessment) and USERS, into the database of `settings`."""
    from callreview.core.rules import load_rules
    from callreview.service.assessment import assess_stored_call
    from callreview.service.intake import take_in
    from callreview.service.transcription import transcribe_call
    from callreview.service.users import create_user
    from callreview.storage.db import open_session

    rules = load_rules()
    samples = copy_samples(settings.data_dir.parent / "sample-inbox")
    for wav in sorted(samples.glob("*.wav")):
        sidecar = wav.with_suffix(".json")
        with open_session(settings) as session:
            intake = take_in(session, "batch", settings, wav, sidecar if sidecar.exists() else None)
            assert intake.status == "new", intake
            transcribe_call(session, "batch", settings.archive_dir, intake.call_pk, wav, engine_factory=None)
            assess_stored_call(session, "batch", intake.call_pk, rules)
    with open_session(settings) as session:
        for name, role in USERS:
            create_user(session, username=name, password=PASSWORD, role=role, actor="test", scrypt_n=FAST_SCRYPT_N)
        session.commit()


@pytest.fixture(scope="session")
def sample_data_template(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("web-template") / "data"
    build_sample_data(data_dir)
    return data_dir


@pytest.fixture
def web_storage(sample_data_template, tmp_path):
    """Storage settings on a private copy of the sample database and archive."""
    from callreview.storage.db import dispose_engines

    data_dir = tmp_path / "data"
    shutil.copytree(sample_data_template, data_dir)
    yield _settings(data_dir)
    dispose_engines()


@pytest.fixture
def web_settings():
    from callreview.web.settings import WebSettings

    # Single review (the shipped default double-reviews high items): the rules most tests exercise;
    # tests/web/test_double_review.py and the browser's double-review server turn it on.
    return WebSettings(timezone="America/Kentucky/Louisville", scrypt_n=FAST_SCRYPT_N, double_review="")


@pytest.fixture
def app(web_storage, web_settings):
    from callreview.web.app import create_app

    return create_app(storage=web_storage, web=web_settings)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def make_client(app):
    """A factory of independent clients (separate cookie jars), for two users at once."""
    from fastapi.testclient import TestClient

    clients = []

    def make():
        c = TestClient(app, follow_redirects=False)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def csrf_of(html: str) -> str:
    """The first CSRF token in a page."""
    match = _CSRF.search(html)
    assert match, "page has no form with a CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in through the real form (login CSRF cookie and token included); return the POST response."""
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(page.text),
                                       "next": ""})


def page_csrf(client, path: str = "/") -> str:
    """The signed-in session's CSRF token, read from a page it can see."""
    response = client.get(path, follow_redirects=True)
    return csrf_of(response.text)
