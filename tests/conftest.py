"""Shared fixtures: real SQLite files on disk, real WAV files, the sample inbox."""
from __future__ import annotations

import math
import os
import shutil
import struct
import time
import uuid
import wave
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # Two test processes share two cores: with numpy's, torch's and CTranslate2's default thread pools each
    # would take both, and the oversubscribed pools made the suite no faster than one process. Set before
    # any of them is imported (the callreview commands the tests start inherit it).
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLES = ROOT / "samples"


POSTGRES_URL = os.environ.get("CALLREVIEW_TEST_POSTGRES_URL")


@contextmanager
def make_storage_settings(backend: str, tmp_path: Path):
    """StorageSettings on a fresh database: an SQLite file in tmp_path, or a new PostgreSQL database."""
    from callreview.storage.db import dispose_engines
    from callreview.storage.settings import StorageSettings

    data_dir = tmp_path / "data"
    if backend == "sqlite":
        yield StorageSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 't.db'}")
        dispose_engines()
        return
    if not POSTGRES_URL:
        pytest.skip("CALLREVIEW_TEST_POSTGRES_URL is not set (.ci/start-postgres prints one)")
    import sqlalchemy

    name = f"cr_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield StorageSettings(data_dir=data_dir, database_url=POSTGRES_URL.rsplit("/", 1)[0] + "/" + name)
    finally:
        dispose_engines()
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin, name: str) -> None:
    """Drop a test database; an autovacuum worker on it (a superuser process this role may not end) only delays it."""
    import sqlalchemy

    for attempt in range(20):
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sqlalchemy.exc.ProgrammingError as e:
            if "pg_signal_backend" not in str(e) or attempt == 19:
                raise
            time.sleep(0.5)


@pytest.fixture(scope="session")
def storage_factory():
    """`make_storage_settings`, for conftests that run their tests on both databases."""
    return make_storage_settings


@pytest.fixture
def storage_settings(tmp_path):
    """SQLite on disk (tests/storage and tests/flows run on PostgreSQL too: see their conftest)."""
    with make_storage_settings("sqlite", tmp_path) as settings:
        yield settings


@pytest.fixture
def session(storage_settings):
    from callreview.storage.db import open_session

    with open_session(storage_settings) as s:
        yield s


def write_tone_wav(path: Path, seconds: float = 1.0, rate: int = 8000, stereo: bool = True,
                   freq: float = 440.0) -> Path:
    """A tone on the left channel and silence on the right (8 kHz telephone-style by default)."""
    frames = bytearray()
    for i in range(int(seconds * rate)):
        left = int(12000 * math.sin(2 * math.pi * freq * i / rate))
        frames += struct.pack("<hh", left, 0) if stereo else struct.pack("<h", left)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2 if stereo else 1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


@pytest.fixture
def tone_wav():
    """The `write_tone_wav` helper, as a fixture so test modules need not import conftest."""
    return write_tone_wav


def copy_samples(dest: Path, transcripts: bool = True) -> Path:
    """Copy the sample recordings and their sidecars into `dest` (created); with `transcripts`, also the
    transcripts in samples/transcripts/ that Whisper would give, so a test that is not about Whisper
    imports them instead of transcribing (the README's first run transcribes 001 and 002)."""
    dest.mkdir(parents=True, exist_ok=True)
    extra = sorted((SAMPLES / "transcripts").glob("*.transcript.json")) if transcripts else []
    for f in [*sorted(SAMPLES.iterdir()), *extra]:
        if f.is_file() and f.suffix in (".wav", ".json"):
            shutil.copy(f, dest / f.name)
    return dest


@pytest.fixture
def sample_inbox(tmp_path) -> Path:
    """A copy of samples/ (recordings and sidecars, and the transcripts), so tests never touch the repository's files."""
    return copy_samples(tmp_path / "inbox")


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def random_whisper_checkpoint(tmp_path_factory) -> Path:
    """A tiny openai-whisper checkpoint with random weights: real code path, no download, words are noise."""
    import torch
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(0)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
                           n_vocab=51864, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1)
    model = Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "random-tiny.pt"
    torch.save({"dims": dims.__dict__, "model_state_dict": model.state_dict()}, path)
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI every test must run: a skip (no PostgreSQL, no Chromium, no Whisper weights) is a failure there.

    Locally a missing piece only skips, so a laptop without PostgreSQL can still run the rest.
    """
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where everything must run: {reason}"
