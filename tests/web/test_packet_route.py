"""The call page's evidence packet: the same zip the CLI writes, for reviewers and supervisors, audited."""
from __future__ import annotations

import io
import zipfile

from sqlmodel import select

from callreview.service.packet import verify_packet
from callreview.storage.db import open_session
from callreview.storage.tables import AuditEvent
from tests.web.conftest import sign_in


def _packet_events(storage):
    with open_session(storage) as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == "export_packet").order_by(AuditEvent.id)))


def test_a_reviewer_downloads_a_packet_that_verifies(client, web_storage):
    sign_in(client, "alice")
    assert 'href="/calls/CR-SAMPLE-002/packet"' in client.get("/calls/CR-SAMPLE-002").text
    response = client.get("/calls/CR-SAMPLE-002/packet")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert 'filename="CR-SAMPLE-002-packet.zip"' in response.headers["content-disposition"]
    assert verify_packet(response.content) == []
    assert "summary.pdf" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    [event] = _packet_events(web_storage)
    assert (event.actor, event.object_id, event.outcome) == ("web:alice", "CR-SAMPLE-002", "ok")
    assert client.get("/calls/CR-SAMPLE-002/packet").content == response.content  # the same bytes again


def test_an_unknown_call_is_a_404_and_audited(client, web_storage):
    sign_in(client, "sam")
    assert client.get("/calls/CR-NOPE/packet").status_code == 404
    assert [e.outcome for e in _packet_events(web_storage)] == ["not_found"]
