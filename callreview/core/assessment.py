"""One call's assessment: usability, tags, counted kinds and the verdict, in one shared path.

The flow, the CLI (`callreview assess`) and `eval` all come through `assess_call`, so what is measured is
what runs. Order: unusable? (then no tags) -> tag -> counted kinds -> doubts (weakly read evidence) ->
policy verdict, which is `uncertain_evidence` when a consistent verdict hinges on a doubt.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from callreview.core.cases import read_case
from callreview.core.decisions import DecisionLog
from callreview.core.doubts import find_doubts
from callreview.core.mentions import Doubt, Mention, counted_kinds
from callreview.core.policy import Verdict, assess
from callreview.core.rules import Rules
from callreview.core.tagging import tag_transcript
from callreview.core.usability import is_unusable
from callreview.transcribe.segments import Segment


@dataclass(frozen=True)
class CallAssessment:
    mentions: list[Mention]
    counted: tuple[str, ...]
    unusable: bool
    verdict: Verdict
    rules_version: str

    @property
    def doubts(self) -> tuple[Doubt, ...]:
        """The weak readings a needs_review for `uncertain_evidence` hinges on (else empty)."""
        return self.verdict.doubts


def assess_call(log: DecisionLog | None, segments: Sequence[Segment], language: str | None,
                rules: Rules) -> CallAssessment:
    """Tag a call and check it against the logged decision.

    Args:
        log: the logged decision, or None when none was logged.
        segments: the transcript's segments in order (flagged ones are not tagged).
        language: the transcript's language, if known.
        rules: compiled rules; their version is recorded in the result.

    Returns:
        The assessment. An unusable transcript has no tags (DESIGN.md).
    """
    unusable = is_unusable(segments, language, rules)
    mentions = [] if unusable else tag_transcript(segments, rules)
    counted = tuple(counted_kinds(mentions))
    # Looking for a kind no rule read means encoding every sentence of the call; it is done only for the
    # kinds that, counted, would turn this call's consistent verdict into a mismatch.
    doubts = []
    if not unusable:
        consistent = assess(log, counted, False).verdict == "consistent"
        could_decide = tuple(k for k in (rules.nearness.missed_kinds if rules.nearness else ()) if consistent
                             and assess(log, tuple(sorted({*counted, k})), False).verdict == "mismatch")
        doubts = find_doubts(segments, mentions, rules, missed_kinds=could_decide)
    verdict = assess(log, counted, unusable, doubts)
    return CallAssessment(mentions=mentions, counted=verdict.counted, unusable=unusable, verdict=verdict,
                          rules_version=rules.version)


def assess_case_file(path: str | Path, rules: Rules) -> CallAssessment:
    """Assess an eval case file; never reads its `expected` block."""
    log, segments, language = read_case(path)
    return assess_call(log, segments, language, rules)


def assessment_to_json(a: CallAssessment) -> dict:
    """The JSON shape `callreview assess --json` prints (shared/eval/README.md)."""
    return {
        "tags": [{"kind": m.kind, "qualifier": m.qualifier, "segment": m.segment, "speaker": m.speaker,
                  "start": m.start, "end": m.end, "text": m.text, "rule": m.rule,
                  "char_start": m.char_start, "char_end": m.char_end} for m in a.mentions],
        "counted": list(a.counted),
        "verdict": a.verdict.verdict,
        "reasons": list(a.verdict.reasons),
        "unusable": a.unusable,
        "uncertain": [d.to_dict() for d in a.doubts],
        "rules_version": a.rules_version,
    }
