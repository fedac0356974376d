import hashlib
import os
import stat

import pytest

from callreview.storage.archive import archive_file, quarantine_file, sha256_file
from callreview.storage.errors import FileTooLarge


def test_archive_copies_by_sha256_read_only_and_leaves_original(tmp_path, tone_wav):
    src = tone_wav(tmp_path / "call one.wav")
    before = src.read_bytes()
    archived = archive_file(src, tmp_path / "archive", max_bytes=10**9)
    assert archived.sha256 == hashlib.sha256(before).hexdigest()
    dest = tmp_path / "archive" / archived.relative_path
    assert dest.name == f"{archived.sha256}.wav"
    assert sha256_file(dest) == archived.sha256
    assert not os.stat(dest).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert src.read_bytes() == before


def test_same_bytes_archived_twice_is_one_file(tmp_path, tone_wav):
    a = tone_wav(tmp_path / "a.wav")
    b = tmp_path / "b.wav"
    b.write_bytes(a.read_bytes())
    first = archive_file(a, tmp_path / "archive", max_bytes=10**9)
    second = archive_file(b, tmp_path / "archive", max_bytes=10**9)
    assert first == second
    files = [p for p in (tmp_path / "archive").rglob("*") if p.is_file()]
    assert len(files) == 1


def test_sparse_file_over_limit_is_refused_without_reading(tmp_path):
    big = tmp_path / "huge.wav"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)  # 2 GiB sparse: reading it would take seconds, refusing takes none
    with pytest.raises(FileTooLarge, match=r"huge.wav: file is 2,147,483,648 bytes, over the limit"):
        archive_file(big, tmp_path / "archive", max_bytes=1 << 30)
    assert not any((tmp_path / "archive").rglob("*.wav"))


def test_quarantine_keeps_a_copy_and_the_reason(tmp_path):
    bad = tmp_path / "bad.mp3"
    bad.write_text("not audio")
    copy = quarantine_file(bad, tmp_path / "q", "bad.mp3: not an audio file", max_bytes=100)
    assert copy.read_text() == "not audio"
    assert "not an audio file" in copy.with_name(copy.name + ".reason.txt").read_text()
    assert bad.exists()
