"""The evidence packet of one call: everything a prosecutor, a court or a records request needs, proving itself.

A packet is a zip of plain files:
- `recording/<sha256>.<format>`: the archived recording, byte for byte;
- `transcripts/v<N>.json` and `.vtt`: every transcript version (engine, model with its SHA-256, words);
- `call.json`: the call, its logged decision, the current assessment (rules version, counted kinds,
  doubts, flags and gaps) and its tags;
- `review.json`: the review items and every disposition;
- `audit.json`: the audit events that made or changed this evidence, and the links of the hash chain
  from the first to the last of them (each row's previous hash is the row before's hash);
- `summary.pdf`: one page for people;
- `manifest.json`: the SHA-256 of every other file.
Reads (views, playback, exports) are left out of `audit.json`, so the same call exported twice gives the
same bytes; each export is itself audited (`export_packet`, with the manifest's SHA-256).
`verify_packet` re-checks a packet offline, without the database, and names every file that differs.
"""
from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from callreview.core.errors import ReviewError
from callreview.service.audited import commit_event
from callreview.service.call_detail import call_detail
from callreview.service.records import record_to_transcript
from callreview.storage import calls as store
from callreview.storage.audit import chain_links, events_about_call
from callreview.storage.dates import utc_iso
from callreview.storage.queue import dispositions_for_call, items_for_call
from callreview.transcribe.vtt import write_vtt

FORMAT = "callreview-packet/1"
MANIFEST = "manifest.json"
# Reading evidence is not evidence: these events would make every export differ from the one before.
READS = frozenset({"view_call", "download_audio", "export_transcript", "export_packet"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest: no export time inside the packet


class PacketError(ReviewError):
    def __init__(self, what: str, problem: str):
        self.what, self.problem = what, problem
        super().__init__(f"{what}: {problem}")


@dataclass(frozen=True)
class Packet:
    call_id: str
    data: bytes
    manifest_sha256: str
    files: dict[str, str]  # path -> SHA-256


def build_packet(session: Session, call_id: str, archive_dir: Path) -> Packet:
    """The packet's bytes (nothing is written or audited; see `export_packet`).

    Raises:
        PacketError: no such call, or its recording is not in the archive.
    """
    detail = call_detail(session, call_id)
    if detail is None:
        raise PacketError(f"call {call_id}", "no such call; `callreview queue --status all` lists calls under review")
    call = store.find_call(session, call_id)
    recording = (archive_dir / call.archive_path).resolve()
    if not recording.is_relative_to(archive_dir.resolve()) or not recording.is_file():
        raise PacketError(f"call {call_id}", f"its recording {call.archive_path} is not in the archive "
                                             f"{archive_dir}; `callreview verify` says what is missing")
    files: dict[str, bytes] = {f"recording/{call.sha256}.{call.format}": recording.read_bytes()}
    for record in store.transcript_versions(session, call.id):
        transcript = record_to_transcript(session, record)
        files[f"transcripts/v{record.version}.json"] = _json({
            "version": record.version, "current": record.is_current, "created_at": utc_iso(record.created_at),
            "engine": record.engine, "model": record.model, "language": record.language,
            "imported": record.imported,
            "segments": [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text, "flags": list(s.flags),
                          "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob,
                          "words": [{"start": w.start, "end": w.end, "text": w.text, "probability": w.probability}
                                    for w in s.words]} for s in transcript.segments],
            "gaps": [{"start": g.start, "end": g.end, "reason": g.reason, "channel": g.channel}
                     for g in transcript.gaps]})
        files[f"transcripts/v{record.version}.vtt"] = write_vtt(transcript).encode("utf-8")
    files["call.json"] = _json({key: value for key, value in detail.items() if key != "review_items"})
    items = items_for_call(session, call.id)
    files["review.json"] = _json({
        "items": detail["review_items"],
        "dispositions": [{"id": d.id, "review_item": d.review_item_pk, "reviewer": d.reviewer,
                          "disposition": d.disposition, "note": d.note, "at": utc_iso(d.created_at)}
                         for d in dispositions_for_call(session, call.id)]})
    events = [e for e in events_about_call(session, call_id, [i.id for i in items]) if e.action not in READS]
    files["audit.json"] = _json({
        "events": [{"id": e.id, "at": utc_iso(e.at), "actor": e.actor, "action": e.action,
                    "object_type": e.object_type, "object_id": e.object_id, "outcome": e.outcome,
                    "detail": json.loads(e.detail_json), "prev_hash": e.prev_hash, "hash": e.hash,
                    "key_id": e.key_id} for e in events],
        "links": [list(link) for link in chain_links(session, events[0].id, events[-1].id)] if events else []})
    files["summary.pdf"] = _summary_pdf(detail, events)
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())}
    manifest = _json({"format": FORMAT, "call_id": call_id, "recording_sha256": call.sha256, "files": digests})
    return Packet(call_id, _zip({**files, MANIFEST: manifest}), hashlib.sha256(manifest).hexdigest(), digests)


def export_packet(session: Session, actor: str, call_id: str, archive_dir: Path, destination: str,
                  write) -> Packet:
    """Build the packet, hand it to `write`, and record one `export_packet` event (a refusal is recorded too).

    Raises:
        PacketError: as `build_packet` (audited with outcome `not_found` or `missing_recording`).
    """
    try:
        packet = build_packet(session, call_id, archive_dir)
    except PacketError as exc:
        outcome = "not_found" if "no such call" in exc.problem else "missing_recording"
        commit_event(session, actor=actor, action="export_packet", object_type="call", object_id=call_id,
                     outcome=outcome, detail={"out": destination, "error": str(exc)})
        raise
    write(packet.data)
    commit_event(session, actor=actor, action="export_packet", object_type="call", object_id=call_id,
                 detail={"out": destination, "manifest_sha256": packet.manifest_sha256})
    return packet


def verify_packet(data: bytes, name: str = "packet") -> list[str]:
    """Every problem with a packet, each naming the file (empty: the packet is whole)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = archive.namelist()
        manifest = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError, OSError) as exc:
        return [f"{name}: not a readable packet ({exc})"]
    listed = manifest.get("files") if isinstance(manifest, dict) else None
    if manifest.get("format") != FORMAT or not isinstance(listed, dict):
        return [f"{name}: {MANIFEST} is not a {FORMAT} manifest"]
    problems = [f"{path}: in the packet but not in {MANIFEST}" for path in names if path != MANIFEST and path not in listed]
    contents: dict[str, bytes] = {}
    for path, digest in listed.items():
        try:
            contents[path] = archive.read(path)
        except KeyError:
            problems.append(f"{path}: listed in {MANIFEST} but missing")
            continue
        except (zipfile.BadZipFile, OSError, ValueError) as exc:  # a changed byte fails the zip's own CRC first
            problems.append(f"{path}: cannot be read ({exc})")
            continue
        if hashlib.sha256(contents[path]).hexdigest() != digest:
            problems.append(f"{path}: its SHA-256 differs from {MANIFEST}")
    recording = f"recording/{manifest.get('recording_sha256')}."
    for path, body in contents.items():
        if path.startswith("recording/") and (not path.startswith(recording)
                                              or hashlib.sha256(body).hexdigest() != manifest["recording_sha256"]):
            problems.append(f"{path}: not the recording the manifest names")
    if "audit.json" in contents and not any(p.startswith("audit.json") for p in problems):
        problems += _chain_problems(json.loads(contents["audit.json"]))
    return problems


def _chain_problems(audit: dict) -> list[str]:
    links = {row[0]: (row[1], row[2]) for row in audit.get("links", [])}
    ids = sorted(links)
    problems = [f"audit.json: row {b} does not follow row {a} (its previous hash is not that row's hash)"
                for a, b in zip(ids, ids[1:]) if b != a + 1 or links[b][0] != links[a][1]]
    for event in audit.get("events", []):
        if links.get(event["id"]) != (event["prev_hash"], event["hash"]):
            problems.append(f"audit.json: event {event['id']} ({event['action']}) is not on the chain the links give")
    return problems


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n").encode("utf-8")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[path])
    return buffer.getvalue()


def _summary_pdf(detail: dict, events) -> bytes:
    """One A4 page: the call, the decision, the verdict and reasons, the review, and how to check the packet."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    log, assessment = detail["log"] or {}, detail["assessment"] or {}
    lines = [(f"Evidence packet: call {detail['call_id']}", 15),
             (f"Recording SHA-256 {detail['sha256']} ({detail['format']}, {detail['duration'] or 0:.1f} s, "
              f"{detail['channels']} channels)", 7),
             ("", 6),
             (f"Logged decision: {log.get('decision') or 'none logged'}; basis: {', '.join(log.get('basis') or []) or 'none'}; "
              f"received {log.get('received_at') or 'unknown'}; commanding officer {log.get('commanding_officer') or 'unknown'}", 9),
             (f"Verdict: {assessment.get('verdict') or 'not assessed'} under rules {assessment.get('rules_version') or '-'}", 11)]
    lines += [(f"  {reason}: {text}", 8) for reason, text in zip(assessment.get("reasons") or [],
                                                                   assessment.get("reasons_text") or [])]
    transcript = detail["transcript"] or {}
    lines += [("", 6), (f"Transcript v{transcript.get('version', '-')} of {transcript.get('versions', 0)}: "
                        f"{transcript.get('engine', '-')} {transcript.get('model', '')}", 9)]
    lines += [("", 6), (f"Review items: {len(detail['review_items'])}", 11)]
    lines += [(f"  item {i['id']}: {i['status']}, {', '.join(i['reasons']) or i['verdict']}"
               + (f" ({i['close_reason']})" if i['close_reason'] else ""), 8) for i in detail["review_items"]]
    lines += [("", 6), (f"Audit events in this packet: {len(events)}"
                        + (f", rows {events[0].id} to {events[-1].id}, last hash {events[-1].hash}" if events else ""), 7),
              ("The recording is the evidence; transcripts are an aid, made as transcripts/*.json record.", 8),
              ("Check this packet offline: callreview packet verify FILE.zip", 8)]
    buffer = io.BytesIO()
    # No creation date: the same call gives the same bytes.
    with PdfPages(buffer, metadata={"Title": f"Evidence packet {detail['call_id']}", "CreationDate": None}) as pdf:
        page = Figure(figsize=(8.27, 11.69))
        y = 0.96
        for text, size in lines:
            page.text(0.06, y, text, fontsize=size, va="top", wrap=True)
            y -= size / 11.69 / 72 * 1.7
        pdf.savefig(page)
    return buffer.getvalue()
