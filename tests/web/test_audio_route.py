"""The audio route serves a call's archived recording by call id only, with Range support, and audits it."""
from __future__ import annotations

import pytest
from sqlmodel import select

from callreview.storage.calls import find_call
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from tests.web.conftest import sign_in


def _archived_bytes(storage, call_id):
    with open_session(storage) as s:
        call = find_call(s, call_id)
    return (storage.archive_dir / call.archive_path).read_bytes(), call.sha256


def _audio_events(storage):
    with open_session(storage) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "download_audio").order_by(AuditEvent.id)))


def test_whole_recording_is_the_archived_file(client, web_storage):
    sign_in(client, "sam")
    data, sha = _archived_bytes(web_storage, "CR-SAMPLE-002")
    response = client.get("/calls/CR-SAMPLE-002/audio")
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-content-sha256"] == sha
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("header,first,last", [("bytes=100-199", 100, 199), ("bytes=1000-", 1000, None),
                                               ("bytes=-500", None, None)])
def test_range_requests_get_206_with_content_range(client, web_storage, header, first, last):
    sign_in(client, "alice")
    data, _ = _archived_bytes(web_storage, "CR-SAMPLE-002")
    size = len(data)
    if first is None:
        first, last = size - 500, size - 1
    last = size - 1 if last is None else last
    response = client.get("/calls/CR-SAMPLE-002/audio", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
    assert response.content == data[first:last + 1]


def test_unsatisfiable_range_is_416(client, web_storage):
    sign_in(client, "alice")
    size = len(_archived_bytes(web_storage, "CR-SAMPLE-002")[0])
    response = client.get("/calls/CR-SAMPLE-002/audio", headers={"Range": f"bytes={size + 10}-"})
    assert response.status_code == 416


def test_every_download_is_audited_with_its_range(client, web_storage):
    sign_in(client, "sam")
    client.get("/calls/CR-SAMPLE-002/audio")
    client.get("/calls/CR-SAMPLE-002/audio", headers={"Range": "bytes=0-9"})
    events = _audio_events(web_storage)
    assert [(e.actor, e.object_id, e.outcome) for e in events] == [("web:sam", "CR-SAMPLE-002", "ok")] * 2
    assert '"range": "bytes=0-9"' in events[1].detail_json


@pytest.mark.parametrize("path", [
    "/calls/CR-SAMPLE-001/audio?path=../9a/CR-SAMPLE-002.wav",  # a client-supplied path is ignored
    "/calls/CR-SAMPLE-001/audio?archive_path=%2Fetc%2Fpasswd",
])
def test_query_parameters_cannot_choose_the_file(client, web_storage, path):
    sign_in(client, "alice")
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == _archived_bytes(web_storage, "CR-SAMPLE-001")[0]


@pytest.mark.parametrize("path", [
    "/calls/..%2FCR-SAMPLE-002/audio",
    "/calls/..%2F..%2F..%2Fetc%2Fpasswd/audio",
    "/calls/%2E%2E/audio",
    "/calls/CR-SAMPLE-001%2F..%2FCR-SAMPLE-002/audio",
    "/calls/CR-SAMPLE-001/../CR-SAMPLE-002/audio%00",
])
def test_path_manipulation_never_reaches_another_file(client, web_storage, path):
    sign_in(client, "alice")
    other, _ = _archived_bytes(web_storage, "CR-SAMPLE-002")
    response = client.get(path)
    assert response.status_code == 404
    assert response.content != other and not response.headers["content-type"].startswith("audio/")


def test_sha256_or_archive_path_is_not_a_call_id(client, web_storage):
    sign_in(client, "alice")
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-002")
    for guess in (call.sha256, call.archive_path.replace("/", "%2F")):
        assert client.get(f"/calls/{guess}/audio").status_code == 404


def test_a_row_pointing_outside_the_archive_is_refused_and_audited(client, web_storage, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not evidence")
    with open_session(web_storage) as s:
        call = find_call(s, "CR-SAMPLE-001")
        call.archive_path = "../../secret.txt"
        s.add(call)
        s.commit()
    sign_in(client, "alice")
    response = client.get("/calls/CR-SAMPLE-001/audio")
    assert response.status_code == 404 and "not evidence" not in response.text
    assert _audio_events(web_storage)[-1].outcome == "outside_archive"


def test_unknown_call_is_404_and_audited(client, web_storage):
    sign_in(client, "alice")
    assert client.get("/calls/CR-NOPE/audio").status_code == 404
    assert _audio_events(web_storage)[-1].outcome == "not_found"
