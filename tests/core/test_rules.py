"""The rules file: the packaged default loads, a department's copy overrides it, and mistakes are named."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from callreview.core.errors import InvalidRules
from callreview.core.rules import DEFAULT_RULES, load_rules


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def default_data() -> dict:
    return yaml.safe_load(DEFAULT_RULES.read_text(encoding="utf-8"))


def test_default_rules_load_with_a_version_and_their_source():
    rules = load_rules()
    assert rules.version and isinstance(rules.version, str)
    assert rules.source == str(DEFAULT_RULES)
    assert rules.mention_rules and rules.triggers


def test_every_kind_and_qualifier_has_rules_in_the_default_file():
    rules = load_rules()
    kinds = {r.kind for r in rules.mention_rules}
    assert {"criminal_warrant", "immigration_warrant", "crime", "emergency", "door_knock", "warrant"} <= kinds
    assert {t.qualifier for t in rules.triggers} == {"negated", "hypothetical", "historical", "refused"}


def test_a_department_copy_overrides_the_default(tmp_path, default_data):
    default_data["version"] = "dept-7"
    rules = load_rules(_write(tmp_path, default_data))
    assert rules.version == "dept-7"
    assert rules.source.endswith("rules.yaml")


def test_bad_regex_names_the_file_and_the_rule(tmp_path, default_data):
    default_data["mentions"][0]["pattern"] = "(unclosed"
    path = _write(tmp_path, default_data)
    with pytest.raises(InvalidRules) as err:
        load_rules(path)
    assert str(path) in str(err.value)
    assert default_data["mentions"][0]["id"] in str(err.value)
    assert "bad regular expression" in str(err.value)


@pytest.mark.parametrize("key", ["version", "lexicons", "mentions", "qualifiers", "usability"])
def test_missing_top_level_key_is_named(tmp_path, default_data, key):
    del default_data[key]
    with pytest.raises(InvalidRules, match=repr(key)):
        load_rules(_write(tmp_path, default_data))


def test_unknown_kind_unknown_lexicon_and_bad_qualifier_are_refused(tmp_path, default_data):
    for change, message in [
        ({"id": "x", "kind": "jaywalking", "pattern": "x"}, "kind 'jaywalking'"),
        ({"id": "x", "kind": "crime", "pattern": "{NOPE}"}, "unknown lexicon {NOPE}"),
        ({"id": "x", "kind": "crime", "pattern": "x", "qualifier": "maybe"}, "qualifier 'maybe'"),
    ]:
        data = dict(default_data, mentions=default_data["mentions"] + [change])
        with pytest.raises(InvalidRules, match=message):
            load_rules(_write(tmp_path, data))


def test_unreadable_and_non_yaml_files_are_refused(tmp_path):
    with pytest.raises(InvalidRules, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed", encoding="utf-8")
    with pytest.raises(InvalidRules, match="not valid YAML"):
        load_rules(bad)


def test_an_empty_rules_setting_means_the_packaged_rules(monkeypatch, tmp_path):
    from callreview.core.settings import ReviewSettings

    monkeypatch.setenv("CALLREVIEW_RULES", "")
    assert ReviewSettings().rules is None  # not Path("."), the current directory
    monkeypatch.setenv("CALLREVIEW_RULES", str(tmp_path / "rules.yaml"))
    assert ReviewSettings().rules == tmp_path / "rules.yaml"


def test_a_gap_of_words_stays_inside_one_sentence():
    from callreview.core.rules import _Compiler

    pattern = _Compiler({}, "rules.yaml")("warrant <8>circuit court", "mentions[0]")
    assert pattern.search("a warrant, burglary, out of circuit court")
    assert pattern.search("the warrant from the U.S. circuit court")  # a dot inside a word ends nothing
    assert not pattern.search("It's not a warrant, sorry, I misread. It's from circuit court.")
    assert not pattern.search("Any warrant? No. Circuit court has nothing.")
