import json

import pytest

from callreview.core.decisions import parse_csv_row, parse_decision_log, read_decision_log
from callreview.core.errors import InvalidDecisionLog

GOOD = {"call_id": "CR-1", "received_at": "2017-04-12T14:05:00-04:00", "requesting_agency": "ICE ERO",
        "requester": "R. Vance", "commanding_officer": "Lt. M. Keene", "decision": "dispatched",
        "basis": ["criminal_warrant"], "notes": ""}


def test_valid_sidecar_parses():
    log = parse_decision_log(GOOD, "inbox/CR-1.json")
    assert log.decision == "dispatched" and log.basis == ("criminal_warrant",) and log.call_id == "CR-1"


@pytest.mark.parametrize("change,fragment", [
    ({"decision": "sent"}, '"decision" must be dispatched or declined, got "sent"'),
    ({"basis": "crime"}, '"basis" must be a list of strings'),
    ({"basis": ["door_knock"]}, '"basis" has "door_knock"'),
    ({"call_id": 12}, '"call_id" must be a string'),
    ({"received_at": "yesterday"}, '"received_at" must be an ISO 8601 date-time'),
    ({"priority": "high"}, "unknown field(s) 'priority'"),
])
def test_bad_sidecar_is_refused_naming_file_and_field(change, fragment):
    with pytest.raises(InvalidDecisionLog) as err:
        parse_decision_log({**GOOD, **change}, "inbox/CR-0412.json")
    assert str(err.value).startswith("inbox/CR-0412.json: ")
    assert fragment in str(err.value)


def test_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "CR-9.json"
    path.write_text("{not json")
    with pytest.raises(InvalidDecisionLog, match=r"CR-9.json: invalid JSON"):
        read_decision_log(path)


def test_non_object_json_is_refused(tmp_path):
    path = tmp_path / "CR-9.json"
    path.write_text(json.dumps(["dispatched"]))
    with pytest.raises(InvalidDecisionLog, match="must be a JSON object"):
        read_decision_log(path)


def test_csv_row_splits_basis_on_semicolons():
    row = {**{k: str(v) for k, v in GOOD.items() if k != "basis"}, "basis": "crime; emergency"}
    assert parse_csv_row(row, "export.csv:2").basis == ("crime", "emergency")


def test_a_sidecar_saved_with_a_byte_order_mark_is_read(tmp_path):
    # Notepad, PowerShell and Excel save UTF-8 with a BOM; json.loads refuses one ("Unexpected UTF-8 BOM").
    path = tmp_path / "CR-1.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({**GOOD, "notes": "Lt. Keene – déclined"}).encode("utf-8"))
    log = read_decision_log(path)
    assert (log.call_id, log.decision, log.notes) == ("CR-1", "dispatched", "Lt. Keene – déclined")


def test_a_csv_export_saved_with_a_byte_order_mark_keeps_its_first_column(tmp_path):
    import csv

    path = tmp_path / "export.csv"
    fields = [k for k in GOOD if k != "basis"] + ["basis"]
    with path.open("w", encoding="utf-8-sig", newline="") as f:  # what Excel's "CSV UTF-8" writes
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerow({**GOOD, "basis": "criminal_warrant"})
    with path.open(encoding="utf-8", newline="") as f:
        (row,) = csv.DictReader(f)
    assert next(iter(row)) == "\ufeffcall_id"
    assert parse_csv_row(row, "export.csv:2").call_id == "CR-1"
