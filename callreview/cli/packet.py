"""`callreview packet CALL_ID --out FILE.zip` and `callreview packet verify FILE.zip` (callreview.service.packet)."""
from __future__ import annotations

from pathlib import Path

import typer

from callreview.cli.actor import cli_actor
from callreview.cli.output import JsonOption, emit_json, emit_table, fail


def packet(call_id: str = typer.Argument(..., metavar="CALL_ID | verify",
                                         help="The call to pack, or `verify` to check a packet."),
           packet_file: Path = typer.Argument(None, metavar="[FILE.zip]", help="With verify: the packet to check."),
           out: Path = typer.Option(None, "--out", help="The packet to write (a .zip)."),
           json_out: bool = JsonOption) -> None:
    """Write a call's evidence packet, or check one offline.

    The packet holds the recording, every transcript version (JSON and WebVTT), the assessment, the review,
    the audit events with their chain links, a one-page PDF and a manifest of SHA-256s. The same call gives
    the same bytes. `verify` needs no database and names every file that differs.

    Example: callreview packet CR-SAMPLE-002 --out CR-SAMPLE-002.zip && callreview packet verify CR-SAMPLE-002.zip
    """
    if call_id == "verify":
        _verify(packet_file, json_out)
        return
    if packet_file is not None:
        raise fail(f"unexpected argument {str(packet_file)!r}: to check a packet, `callreview packet verify FILE.zip`", 2)
    if out is None or out.suffix.lower() != ".zip":
        raise fail("--out FILE.zip is required: the packet is a zip file", 2)
    from callreview.service.packet import PacketError, export_packet
    from callreview.storage.db import open_session
    from callreview.storage.settings import StorageSettings

    settings = StorageSettings()

    def write(data: bytes) -> None:
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise fail(f"{out}: cannot write: {exc.strerror or exc}") from None

    with open_session(settings) as session:
        try:
            made = export_packet(session, cli_actor(), call_id, settings.archive_dir, str(out), write)
        except PacketError as exc:
            raise fail(str(exc)) from None
    if json_out:
        emit_json({"call_id": made.call_id, "out": str(out), "manifest_sha256": made.manifest_sha256,
                   "files": made.files})
        return
    emit_table(f"evidence packet {out}", ["file", "SHA-256"], sorted(made.files.items()))


def _verify(path: Path | None, json_out: bool) -> None:
    from callreview.service.packet import verify_packet

    if path is None:
        raise fail("name the packet: callreview packet verify FILE.zip", 2)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"{path}: cannot read: {exc.strerror or exc}") from None
    problems = verify_packet(data, str(path))
    if json_out:
        emit_json({"packet": str(path), "ok": not problems, "problems": problems})
    elif problems:
        emit_table(f"{path}: {len(problems)} problem(s)", ["problem"], [[p] for p in problems])
    else:
        typer.echo(f"{path}: ok: every file matches its manifest and the audit events are linked")
    if problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("packet")(packet)
