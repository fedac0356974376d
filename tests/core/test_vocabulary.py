"""The vocabulary is defined once and complete: a reason without text or severity, or a kind without a
colour on the call page, fails here."""
import re
from pathlib import Path

from callreview.core.vocabulary import REASON_INFO, SEVERITIES, Kind, Reason

CSS = Path(__file__).resolve().parents[2] / "callreview" / "web" / "static" / "app.css"


def test_every_reason_has_text_and_a_severity():
    assert set(REASON_INFO) == set(Reason)
    for reason, info in REASON_INFO.items():
        assert info.text.strip().endswith("."), reason
        assert info.severity in SEVERITIES, reason


def test_every_kind_has_a_colour_on_the_call_page():
    css = CSS.read_text(encoding="utf-8")
    for kind in Kind:
        assert re.search(rf"mark\.tag-{kind}\b[^{{]*\{{[^}}]*background", css), kind


def test_members_are_the_plain_strings_stored_and_printed():
    import json

    assert json.dumps([Kind.door_knock, Reason.missing_log]) == '["door_knock", "missing_log"]'
    assert f"{Reason.uncertain_evidence}" == "uncertain_evidence"
