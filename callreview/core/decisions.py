"""The commanding officer's logged decision: its shape and a strict parser for sidecars and CSV rows.

A sidecar is evidence of what the officer logged, so the parser refuses rather than guesses: a wrong type,
an unknown decision or basis, or a field nobody defined is an error naming the file and the field.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from callreview.core.errors import InvalidDecisionLog
from callreview.core.mentions import BASIS_KINDS
from callreview.core.vocabulary import Decision

DECISIONS = tuple(Decision)
_TEXT_FIELDS = ("call_id", "received_at", "requesting_agency", "requester", "commanding_officer", "notes")
_FIELDS = set(_TEXT_FIELDS) | {"decision", "basis"}


@dataclass(frozen=True)
class DecisionLog:
    decision: str
    basis: tuple[str, ...] = ()
    call_id: str | None = None
    received_at: str | None = None
    requesting_agency: str | None = None
    requester: str | None = None
    commanding_officer: str | None = None
    notes: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("extra")
        d["basis"] = list(self.basis)
        return d


def parse_decision_log(data: object, source: str = "<log>") -> DecisionLog:
    """Validate a decoded sidecar (or case-file `log`) and return it as a DecisionLog.

    Args:
        data: the decoded JSON object.
        source: the file it came from, used at the start of every error message.

    Raises:
        InvalidDecisionLog: naming `source` and the offending field.
    """
    if not isinstance(data, dict):
        raise InvalidDecisionLog(source, f"a decision log must be a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InvalidDecisionLog(source, f"unknown field(s) {', '.join(map(repr, unknown))}; "
                                         f"expected only {', '.join(sorted(_FIELDS))}")
    decision = data.get("decision")
    if decision not in DECISIONS:
        raise InvalidDecisionLog(source, f'"decision" must be dispatched or declined, got {json.dumps(decision)}')
    basis = data.get("basis", [])
    if basis is None:
        basis = []
    if not isinstance(basis, list) or not all(isinstance(b, str) for b in basis):
        raise InvalidDecisionLog(source, f'"basis" must be a list of strings, got {json.dumps(basis)}')
    bad = [b for b in basis if b not in BASIS_KINDS]
    if bad:
        raise InvalidDecisionLog(source, f'"basis" has {", ".join(map(json.dumps, bad))}; '
                                         f"allowed: {', '.join(BASIS_KINDS)}")
    for name in _TEXT_FIELDS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise InvalidDecisionLog(source, f'"{name}" must be a string, got {json.dumps(value)}')
    received_at = data.get("received_at")
    if received_at:
        try:
            when = datetime.fromisoformat(received_at)
        except ValueError:
            raise InvalidDecisionLog(source, f'"received_at" must be an ISO 8601 date-time, got {json.dumps(received_at)}') from None
        try:
            if when.tzinfo is not None:
                when.astimezone(timezone.utc)  # stored in UTC: an offset that leaves the calendar is refused here
        except OverflowError:
            raise InvalidDecisionLog(source, f'"received_at" {json.dumps(received_at)} is out of range in UTC') from None
    return DecisionLog(
        decision=decision,
        basis=tuple(dict.fromkeys(basis)),
        **{name: data.get(name) for name in _TEXT_FIELDS},
    )


def read_decision_log(path: Path) -> DecisionLog:
    """Read and validate a `<stem>.json` sidecar."""
    try:
        # utf-8-sig: Windows tools (Notepad, PowerShell, Excel) start UTF-8 files with a byte-order mark.
        data = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidDecisionLog(str(path), "not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidDecisionLog(str(path), f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise InvalidDecisionLog(str(path), "invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. a number longer than Python's integer-string limit
        raise InvalidDecisionLog(str(path), f"invalid JSON: {exc}") from None
    return parse_decision_log(data, str(path))


def parse_csv_row(row: dict, source: str) -> DecisionLog:
    """A row of a dispatch CSV export: same fields, `basis` separated by `;`.

    A byte-order mark before the first column's name (an export saved by Excel as "CSV UTF-8", read as plain
    UTF-8) is not part of the name.
    """
    data = {k.lstrip("\ufeff"): (v if v != "" else None) for k, v in row.items() if k is not None}
    basis = data.get("basis") or ""
    data["basis"] = [b.strip() for b in basis.split(";") if b.strip()]
    return parse_decision_log(data, source)
