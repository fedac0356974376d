"""Audit sampling of the calls the machine found consistent: a draw nobody can choose, and what it shows.

APCO/NENA call QA samples at least 2% of calls. Here the draw is reproducible from the evidence alone:
- the seed is the SHA-256 over the SHA-256s of every recording of the period (sorted), so anyone holding
  the archive can recompute it, and nobody can pick it without changing a recording;
- the consistent calls are split into strata by commanding officer and ISO week, so one busy officer or
  week cannot crowd out the rest;
- the sample size, `max(minimum, ceil(rate * consistent calls))` (never more than there are), is shared
  out in proportion to the strata's sizes, remainders going to the largest fractions;
- within a stratum, calls are taken in the order of SHA-256(seed, recording SHA-256).
The same period and settings give the same calls, on any machine, at any time.
"""
from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

NO_OFFICER = "(none logged)"


@dataclass(frozen=True)
class Candidate:
    """A call of the period as the draw sees it."""

    call_id: str
    sha256: str  # of the recording
    received_at: datetime
    officer: str | None
    verdict: str | None  # the current assessment's; only `consistent` calls can be drawn


@dataclass(frozen=True)
class Draw:
    seed: str
    calls_in_period: int
    consistent: int
    size: int
    strata: dict[str, int]  # stratum ("officer / 2017-W23") -> calls drawn from it
    chosen: tuple[str, ...]  # call ids, in stratum order then draw order


def draw_seed(recording_shas: list[str]) -> str:
    """SHA-256 over the sorted recording SHA-256s, one per line."""
    return hashlib.sha256("\n".join(sorted(recording_shas)).encode("ascii")).hexdigest()


def stratum_of(candidate: Candidate) -> str:
    year, week, _ = candidate.received_at.isocalendar()
    return f"{candidate.officer or NO_OFFICER} / {year}-W{week:02d}"


def draw_audit_sample(candidates: list[Candidate], rate: float, minimum: int = 0) -> Draw:
    """Draw consistent calls for audit (see the module docstring for how).

    Args:
        candidates: every call of the period (all verdicts: they all make the seed).
        rate: the share of consistent calls to draw, 0 < rate <= 1.
        minimum: draw at least this many (when there are that many).

    Raises:
        ValueError: a rate outside (0, 1] or a negative minimum.
    """
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be more than 0 and at most 1, got {rate}")
    if minimum < 0:
        raise ValueError(f"minimum must be 0 or more, got {minimum}")
    seed = draw_seed([c.sha256 for c in candidates])
    strata: dict[str, list[Candidate]] = defaultdict(list)
    for c in candidates:
        if c.verdict == "consistent":
            strata[stratum_of(c)].append(c)
    consistent = sum(len(members) for members in strata.values())
    size = min(consistent, max(minimum, math.ceil(rate * consistent)))
    quotas = _shares(size, {name: len(members) for name, members in strata.items()}, seed)

    def order(c: Candidate) -> str:
        return hashlib.sha256(f"{seed}:{c.sha256}".encode("ascii")).hexdigest()

    chosen = [c.call_id for name in sorted(strata) for c in sorted(strata[name], key=order)[:quotas[name]]]
    return Draw(seed=seed, calls_in_period=len(candidates), consistent=consistent, size=size,
                strata={name: quotas[name] for name in sorted(strata) if quotas[name]}, chosen=tuple(chosen))


def _shares(size: int, sizes: dict[str, int], seed: str) -> dict[str, int]:
    """`size` shared in proportion to `sizes` (largest remainder; ties broken by the seed, not by name)."""
    total = sum(sizes.values())
    if not total:
        return {}
    exact = {name: size * n / total for name, n in sizes.items()}
    quotas = {name: math.floor(share) for name, share in exact.items()}
    left = size - sum(quotas.values())

    def priority(name: str) -> tuple[float, str]:
        return (-(exact[name] - quotas[name]), hashlib.sha256(f"{seed}:{name}".encode()).hexdigest())

    for name in sorted(sizes, key=priority)[:left]:
        quotas[name] += 1
    return quotas


def miss_rate_upper_bound(misses: int, sampled: int, confidence: float = 0.95) -> float | None:
    """One-sided Clopper-Pearson upper bound on the share of consistent verdicts that are wrong.

    With no miss in n sampled calls it is 1 - 0.05^(1/n), about 3/n. None when nothing was sampled.
    """
    if sampled <= 0:
        return None
    if not 0 <= misses <= sampled:
        raise ValueError(f"misses must be between 0 and {sampled}, got {misses}")
    if misses == sampled:
        return 1.0
    alpha = 1 - confidence
    low, high = misses / sampled, 1.0
    for _ in range(100):  # bisection: P(X <= misses | p) falls as p grows
        mid = (low + high) / 2
        if _binomial_cdf(misses, sampled, mid) > alpha:
            low = mid
        else:
            high = mid
    return high


def _binomial_cdf(k: int, n: int, p: float) -> float:
    if p <= 0:
        return 1.0
    if p >= 1:
        return 0.0 if k < n else 1.0
    # in logs: the binomial coefficients of a year's sample overflow a float
    log_p, log_q = math.log(p), math.log1p(-p)
    return sum(math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
               for i in range(k + 1))


def cohens_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Agreement between two reviewers beyond chance, over their paired findings (None: no pairs, or only
    one finding ever given, where chance agreement is already total)."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(a == b for a, b in pairs) / n
    labels = {label for pair in pairs for label in pair}
    expected = sum((sum(a == label for a, _ in pairs) / n) * (sum(b == label for _, b in pairs) / n)
                   for label in labels)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)
