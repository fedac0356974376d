"""callreview.core.sampling: a draw anyone holding the recordings can repeat, stratified, with a miss-rate bound."""
import random
from datetime import datetime, timedelta, timezone

import pytest

from callreview.core.sampling import Candidate, draw_audit_sample, draw_seed, miss_rate_upper_bound, stratum_of

MONDAY = datetime(2017, 6, 5, 9, tzinfo=timezone.utc)


def calls(n: int, officers=("Lt. Reyes", "Sgt. Lowry", "Capt. Dunn"), weeks=2, verdict="consistent"):
    return [Candidate(call_id=f"CR-{i:04d}", sha256=f"{i:064x}", officer=officers[i % len(officers)],
                      received_at=MONDAY + timedelta(days=7 * ((i // len(officers)) % weeks), hours=i % 9),
                      verdict=verdict) for i in range(n)]


def test_the_same_calls_in_any_order_give_the_same_draw():
    population = calls(120)
    shuffled = population[:]
    random.Random(7).shuffle(shuffled)
    assert draw_audit_sample(population, 0.05) == draw_audit_sample(shuffled, 0.05)


def test_changing_one_recording_changes_the_seed_and_nobody_picks_it():
    population = calls(120)
    altered = population[:-1] + [Candidate("CR-0119", "f" * 64, population[-1].received_at,
                                           population[-1].officer, "consistent")]
    assert draw_seed([c.sha256 for c in population]) == draw_audit_sample(population, 0.05).seed
    assert draw_audit_sample(altered, 0.05).seed != draw_audit_sample(population, 0.05).seed


def test_the_sample_is_shared_across_officers_and_weeks_in_proportion():
    population = calls(600)  # 3 officers x 2 weeks, 100 calls each
    draw = draw_audit_sample(population, 0.02)
    assert draw.size == 12 and len(draw.chosen) == 12 and len(set(draw.chosen)) == 12
    assert sorted(draw.strata.values()) == [2] * 6
    by_id = {c.call_id: c for c in population}
    assert {stratum_of(by_id[c]) for c in draw.chosen} == set(draw.strata)


def test_only_consistent_calls_are_drawn_and_the_minimum_holds():
    population = calls(30) + [
        Candidate(f"CR-M{i}", f"{1000 + i:064x}", MONDAY, "Lt. Reyes", v)
        for i, v in enumerate(("mismatch", "needs_review", None))]
    draw = draw_audit_sample(population, 0.02, minimum=5)
    assert draw.consistent == 30 and draw.calls_in_period == 33 and draw.size == 5
    assert all(c.startswith("CR-0") for c in draw.chosen)
    assert draw_audit_sample(calls(3), 0.5, minimum=10).size == 3  # never more than there are


@pytest.mark.parametrize("rate,minimum", [(0, 0), (1.5, 0), (-0.1, 0), (0.1, -1)])
def test_a_rate_or_minimum_out_of_range_is_refused(rate, minimum):
    with pytest.raises(ValueError, match="rate|minimum"):
        draw_audit_sample(calls(10), rate, minimum)


def test_the_miss_rate_bound_is_clopper_pearson_one_sided():
    assert miss_rate_upper_bound(0, 100) == pytest.approx(1 - 0.05 ** (1 / 100), rel=1e-9)  # about 3/n
    assert miss_rate_upper_bound(1, 100) == pytest.approx(0.0465598, abs=1e-6)  # scipy beta.ppf(0.95, 2, 99)
    assert miss_rate_upper_bound(3, 5000) == pytest.approx(0.00154999, abs=1e-7)
    assert miss_rate_upper_bound(0, 0) is None and miss_rate_upper_bound(4, 4) == 1.0
