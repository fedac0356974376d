"""Whether a transcript can be understood at all (DESIGN.md `transcript_unusable`).

A transcript is unusable when, counting only segments not flagged as suspect:
- nothing is left (every segment was flagged, or there are none);
- there is no English speech: few English function words, both in number and as a share of all words
  (Spanish-only calls, music, a dial tone) — a call with *some* English is usable and is tagged from that
  English, and terse radio English ("Copy, sending two units") still counts as English;
- it is mostly noise: at least `noisy_segment_share` of its segments carry markers such as [inaudible] or
  [static], or at least `troubled_noisy_share` do while the speakers keep saying they cannot hear each
  other ("you're breaking up", "say again"): then the request itself cannot be made out;
- it is short (under `short_call_words` words) and the speakers keep losing each other ("hello, you
  there?", "I think we lost him"): the call dropped before any request was made.
"""
from __future__ import annotations

import re
from typing import Sequence

from callreview.core.rules import Rules
from callreview.transcribe.segments import Segment

_WORD = re.compile(r"[\w']+")


def is_unusable(segments: Sequence[Segment], language: str | None, rules: Rules) -> bool:
    """Decide `transcript_unusable` for a call.

    Args:
        segments: the call's segments; flagged ones are ignored.
        language: the transcript's detected or declared language; informative only, because calls with
            some English segments must still be tagged, so the decision rests on the text itself.
        rules: compiled rules (the `usability` section).

    Returns:
        True when the call cannot be understood.
    """
    cfg = rules.usability
    texts = [seg.text or "" for seg in segments if not seg.flags and (seg.text or "").strip()]
    if not texts:
        return True
    noisy = sum(1 for t in texts if cfg.noise.search(t))
    clean = " ".join(cfg.noise.sub(" ", t) for t in texts)
    english_words = len(cfg.english.findall(clean))
    all_words = max(1, len(_WORD.findall(clean)))
    # Terse radio English has few function words in all, but they are still a good share of its words.
    if english_words < cfg.min_english_words and english_words / all_words < cfg.min_english_ratio:
        return True
    share = noisy / len(texts)
    if share >= cfg.noisy_segment_share:
        return True
    trouble = sum(len(cfg.trouble.findall(t)) for t in texts)
    if all_words < cfg.short_call_words and trouble >= cfg.min_trouble_phrases:
        return True
    return share >= cfg.troubled_noisy_share and trouble >= cfg.min_trouble_phrases
