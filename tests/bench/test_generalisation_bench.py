"""bench/generalisation.py: leaving a writer out removes exactly what was written for that writer."""
from __future__ import annotations

import pytest
import yaml

from bench.generalisation import rules_without
from callreview.core.rules import DEFAULT_RULES, compile_rules


def test_a_writer_left_out_loses_the_rules_and_the_whole_sections_written_for_it():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    shipped = compile_rules(data, "shipped")
    assert shipped.restated_qualifiers and shipped.restated_after_inactive
    without_shift = compile_rules(rules_without(data, "shift"), "without shift")
    assert without_shift.restated_qualifiers == () and not without_shift.restated_after_inactive
    assert "shift" in {e.set for e in shipped.nearness.examples}
    assert "shift" not in {e.set for e in without_shift.nearness.examples}
    esl_rules = {r.id for r in shipped.mention_rules} - {r.id for r in compile_rules(rules_without(data, "esl"), "x").mention_rules}
    assert "crime.plain_speech" in esl_rules
    # a writer nothing was written for keeps everything
    relay = compile_rules(rules_without(data, "relay"), "without relay")
    assert relay.restated_qualifiers == shipped.restated_qualifiers
    assert len(relay.mention_rules) == len(shipped.mention_rules)
    assert data.get("restated"), "the shipped data itself is not changed"


def test_words_that_retire_a_warrant_leave_with_the_writer_they_were_written_for():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    said = "They picked him up on it in February and he bonded out."
    assert compile_rules(data, "shipped").resolution.inactive.search(said)
    without_radio = compile_rules(rules_without(data, "radio"), "without radio").resolution.inactive
    assert not without_radio.search(said)
    assert without_radio.search("That warrant was served last week.")  # the words written for nobody stay


def test_present_denied_and_a_softened_request_leave_with_the_writers_they_were_written_for():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    shipped = compile_rules(data, "shipped")
    without_pretext = compile_rules(rules_without(data, "pretext"), "without pretext")
    assert shipped.present_denied is not None and without_pretext.present_denied is None
    said = "maybe your guys could come up with us"
    assert any(p.match(said) for p in shipped.pseudo_triggers)  # "maybe" itself is covered
    assert not any(p.match(said) for p in without_pretext.pseudo_triggers)
    # plain pseudo-trigger strings, written for nobody, stay
    assert len(without_pretext.pseudo_triggers) == len(shipped.pseudo_triggers) - 1
    assert compile_rules(rules_without(data, "relay"), "without relay").present_denied == shipped.present_denied


def test_a_nearness_guard_leaves_with_the_writer_it_was_written_for():
    data = yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))
    assert compile_rules(data, "shipped").nearness.missed_not_if
    assert compile_rules(rules_without(data, "pushback"), "without pushback").nearness.missed_not_if == ()


def test_the_baseline_rules_are_found_where_the_revision_keeps_them():
    from bench.generalisation import baseline_rules

    # HEAD keeps them in callreview/core/rules (revisions before the move kept them in review/rules)
    assert "version" in yaml.safe_load(baseline_rules("HEAD"))
    with pytest.raises(SystemExit, match="no-such-rev: no rules file"):
        baseline_rules("no-such-rev")
