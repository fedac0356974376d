"""The rules file: loading, validating and compiling it into patterns the tagger can run.

The rules live in YAML (`callreview/core/rules/default.yaml` ships with the package; a department points
`CALLREVIEW_RULES` at its own copy). Loading happens in this order:
1. read and parse the YAML; 2. check its shape (every missing key or wrong type is an error naming the
file); 3. expand lexicon references and the small pattern shorthand below; 4. compile every regex.

Pattern shorthand (so that rules read like phrases and survive ASR text without punctuation):
- `{NAME}`   the alternation of lexicon NAME (lexicons may refer to other lexicons);
- a space    one or more separators (spaces, punctuation, hyphens), so "I-200" and "i 200" both match;
- `_`        the same as a space, for where YAML would misread one ("(?:_violence)?" after a colon);
- `~`        an optional separator ("re~entry" matches "re-entry", "re entry" and "reentry");
- `<N>`      up to N intervening words ("your <3>officers" matches "your two marked officers");
- `'`        an optional apostrophe ("he's" also matches "hes").
All patterns are case-insensitive and must start and end on a word boundary.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from callreview.core.errors import InvalidRules
from callreview.core.mentions import KINDS, MAY_COUNT, MAY_NOT_COUNT, QUALIFIERS
from callreview.core.nearness import Nearness, load_examples
from callreview.transcribe.embedding import MODEL_NAME

DEFAULT_RULES = Path(__file__).parent / "rules" / "default.yaml"
# A mention rule may also tag "warrant": a warrant whose kind the call reveals elsewhere (see tagging).
RULE_KINDS = KINDS + ("warrant",)
DIRECTIONS = ("forward", "backward", "both")
_LEXICON_REF = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_GAP = re.compile(r"<(\d+)>")


@dataclass(frozen=True)
class MentionRule:
    """One way a kind is mentioned: `pattern` finds the evidence span."""

    id: str
    kind: str
    pattern: re.Pattern
    qualifier: str | None = None  # fixed qualifier, e.g. "non-emergency" is always negated
    status_sensitive: bool = False  # dropped near immigration-status words (never a `crime`)
    weak: str | None = None  # why a mention this rule finds may not count (reviewers read it)


@dataclass(frozen=True)
class Trigger:
    """A ConText trigger: a phrase that qualifies mentions within its scope."""

    id: str
    qualifier: str
    direction: str
    window: int  # words
    pattern: re.Pattern
    kinds: frozenset[str]
    stop_at_comma: bool
    clause_start: bool = False  # only where a clause begins (a question opener such as "is he ...")
    ignore_terminators: bool = False  # reaches across sentence ends ("a felony warrant. Theft by ...")
    weak: str | None = None  # why what this trigger qualifies may count after all (reviewers read it)


@dataclass(frozen=True)
class DoubtRule:
    """Words that may be a mention of `kind` that no mention rule reads firmly ("go up and ask for him by
    name"): never a tag, only a doubt that sends a call to a person when it decides the verdict."""

    id: str
    kind: str
    why: str
    pattern: re.Pattern
    # may_count: the words may be a mention no rule read; may_not_count: a counted mention the words overlap
    # may not count ("the felony warrant's on the brother": a warrant, but not the subject's)
    reading: str = MAY_COUNT


@dataclass(frozen=True)
class Exclusion:
    """A phrase that looks like a mention but is not one ("where's your emergency?")."""

    id: str
    kinds: frozenset[str]
    pattern: re.Pattern


@dataclass(frozen=True)
class PolicyList:
    """`policy_list`: bases listed together ("a criminal warrant, a crime, or an emergency") are policy."""

    kinds: frozenset[str]
    joiner: re.Pattern
    rules: frozenset[str]  # the mention rules whose finds may be read as part of such a list
    max_gap_words: int = 8


@dataclass(frozen=True)
class SpeakerRefusal:
    """`speaker_refusal`: a refusal only counts from the police; the others' "no" is read as `instead`."""

    not_refused_by: tuple[str, ...] = ("ice",)
    instead: str = "negated"


@dataclass(frozen=True)
class WarrantResolution:
    """`warrant_resolution`: words that make a warrant inactive, and the question that asks for its charge."""

    inactive: re.Pattern
    # A question about what a warrant is for ("what's the charge on it?"): crimes named in the answer (the
    # next segment) are the warrant's charge, not the incident at hand.
    charge_question: re.Pattern | None = None


@dataclass(frozen=True)
class Usability:
    """`usability`: when a transcript is too noisy or too little English to tag (see core.usability)."""

    noise: re.Pattern
    trouble: re.Pattern
    english: re.Pattern
    min_english_words: int = 12
    min_english_ratio: float = 0.15
    noisy_segment_share: float = 0.5
    troubled_noisy_share: float = 0.25
    min_trouble_phrases: int = 2
    # a short call whose speakers keep losing each other never got to a request, noise markers or not
    short_call_words: int = 0


@dataclass(frozen=True)
class AnsweredDenial:
    """`answered_denial`: an officer's question answered "no" ("Is anybody hurt?" "No.") negates its mention."""

    asked_by: frozenset[str]
    kinds: frozenset[str]
    answer: re.Pattern


@dataclass(frozen=True)
class PresentDenied:
    """`present_denied`: the officer asks whether anything is happening now and the caller denies it, so a
    crime or emergency described before may be over (a doubt, callreview.core.doubts.present_denied)."""

    asked_by: frozenset[str]
    kinds: frozenset[str]
    now: re.Pattern  # the question is about the present ...
    about: re.Pattern  # ... and about what the person is doing
    answer: re.Pattern  # how the next turn starts when it denies it


@dataclass(frozen=True)
class Rules:
    """A compiled rules file. Immutable, so one instance can be shared by every worker."""

    version: str
    source: str
    mention_rules: tuple[MentionRule, ...]
    exclusions: tuple[Exclusion, ...]
    triggers: tuple[Trigger, ...]
    pseudo_triggers: tuple[re.Pattern, ...]
    terminators: re.Pattern
    qualifier_priority: tuple[str, ...]
    clause_openers: re.Pattern
    present_markers: re.Pattern
    status_words: re.Pattern
    status_window: int
    status_previous_segments: int
    policy_list: PolicyList
    speaker_refusal: SpeakerRefusal
    resolution: WarrantResolution
    usability: Usability
    answered_denial: AnsweredDenial | None = None  # None: the section is absent; no answer negates
    doubt_rules: tuple[DoubtRule, ...] = ()
    # A deciding word Whisper gave a lower probability than this is unsure (uncertain_transcript); 0 = off.
    min_word_probability: float = 0.0
    nearness: Nearness | None = None  # None: the section is absent; no nearness doubts
    # `restated`: a counted mention may read back what another speaker last said of its kind with one of these
    # qualifiers (qualified_elsewhere) ...
    restated_qualifiers: tuple[str, ...] = ()
    # ... or name again a criminal warrant another speaker found inactive (restated_after_inactive).
    restated_after_inactive: bool = False
    present_denied: PresentDenied | None = None  # None: the section is absent; no such doubts


def load_rules(path: str | Path | None = None) -> Rules:
    """Load and compile a rules file.

    Args:
        path: a YAML rules file; None means the packaged default (`callreview/core/rules/default.yaml`).
            Callers resolve `CALLREVIEW_RULES` themselves and pass the path in.

    Returns:
        The compiled, immutable Rules.

    Raises:
        InvalidRules: naming the file and what is wrong (unreadable, not YAML, a missing key, a bad regex).
    """
    source = Path(path) if path is not None else DEFAULT_RULES
    src = str(source)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidRules(src, f"cannot read the rules file ({exc.strerror or exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidRules(src, f"not valid YAML: {exc}") from None
    return compile_rules(data, src, source.parent)


def compile_rules(data: object, source: str = "<rules>", base: Path | None = None) -> Rules:
    """Validate and compile already-parsed rules data (what `load_rules` does after reading the file).

    `base` is the folder that files the rules name (the nearness examples) are relative to; by default the
    packaged rules' folder.
    """
    if not isinstance(data, dict):
        raise InvalidRules(source, "the rules file must be a mapping with version, lexicons, mentions, qualifiers")
    version = _require(data, "version", (str, int, float), source)
    compile_ = _Compiler(_expand_lexicons(_require(data, "lexicons", dict, source), source), source)
    qual = _require(data, "qualifiers", dict, source)
    priority = tuple(_require(qual, "priority", list, source, "qualifiers"))
    if sorted(priority) != sorted(QUALIFIERS):
        raise InvalidRules(source, f"qualifiers.priority must list each of {', '.join(QUALIFIERS)} once")
    status = _require(data, "immigration_status", dict, source)
    refusal = data.get("speaker_refusal") or {}
    return Rules(
        version=str(version), source=source,
        mention_rules=_mention_rules(_require(data, "mentions", list, source), compile_),
        exclusions=_exclusions(data.get("exclusions") or [], compile_),
        triggers=_triggers(_require(qual, "triggers", list, source, "qualifiers"), compile_),
        pseudo_triggers=_pseudo_triggers(qual.get("pseudo") or [], compile_),
        terminators=compile_(_require(qual, "terminators", str, source, "qualifiers"), "qualifiers.terminators",
                             bounded=False),
        qualifier_priority=priority,
        clause_openers=compile_(_require(qual, "clause_openers", str, source, "qualifiers"),
                                "qualifiers.clause_openers"),
        present_markers=compile_(_require(qual, "present_markers", str, source, "qualifiers"),
                                 "qualifiers.present_markers"),
        status_words=compile_(_require(status, "pattern", str, source, "immigration_status"),
                              "immigration_status.pattern"),
        status_window=int(status.get("window", 12)),
        status_previous_segments=int(status.get("previous_segments", 0)),
        policy_list=_policy_list(_require(data, "policy_list", dict, source), compile_),
        speaker_refusal=SpeakerRefusal(not_refused_by=tuple(refusal.get("not_refused_by", ("ice",))),
                                       instead=refusal.get("instead", "negated")),
        resolution=_warrant_resolution(data.get("warrant_resolution") or {}, compile_),
        usability=_usability(_require(data, "usability", dict, source), compile_),
        answered_denial=_answered_denial(data.get("answered_denial") or {}, compile_),
        doubt_rules=_doubt_rules(data.get("doubts") or [], compile_),
        min_word_probability=_probability(data.get("transcript_confidence") or {}, source),
        nearness=_nearness(data.get("nearness"), source, base or DEFAULT_RULES.parent, compile_),
        **_restated(data.get("restated") or {}, source),
        present_denied=_present_denied(data.get("present_denied") or {}, compile_),
    )


def _restated(section: object, source: str) -> dict:
    if not isinstance(section, dict):
        raise InvalidRules(source, "restated must be a mapping with a `qualifiers` list and `after_inactive`")
    names = section.get("qualifiers") or []
    if not isinstance(names, list) or any(n not in QUALIFIERS for n in names):
        raise InvalidRules(source, f"restated.qualifiers must list some of {', '.join(QUALIFIERS)}, got {names!r}")
    after_inactive = section.get("after_inactive", False)
    if not isinstance(after_inactive, bool):
        raise InvalidRules(source, f"restated.after_inactive must be true or false, got {after_inactive!r}")
    return {"restated_qualifiers": tuple(names), "restated_after_inactive": after_inactive}


def _nearness(section: object, source: str, base: Path, compile_: _Compiler) -> Nearness | None:
    if section is None:
        return None
    _check_mapping(section, "nearness", source)
    examples = _require(section, "examples", str, source, "nearness")
    without = section.get("without_sets") or []
    if not isinstance(without, list):
        raise InvalidRules(source, "nearness.without_sets must be a list of set names")
    model = str(section.get("model", MODEL_NAME))
    if model != MODEL_NAME:
        raise InvalidRules(source, f"nearness.model must be {MODEL_NAME} (the sentence model installed), got {model!r}")
    missed = section.get("missed") or {}
    _check_mapping(missed, "nearness.missed", source)
    missed_kinds = missed.get("kinds") or []
    if not isinstance(missed_kinds, list) or set(map(str, missed_kinds)) - set(KINDS):
        raise InvalidRules(source, f"nearness.missed.kinds must be a list of tag kinds ({', '.join(KINDS)})")
    not_if = []
    items = missed.get("not_if") or []
    if not isinstance(items, list):
        raise InvalidRules(source, "nearness.missed.not_if must be a list of {kind, patterns}")
    for i, item in enumerate(items):
        where = f"nearness.missed.not_if[{i}]"
        _check_mapping(item, where, source)
        kind = item.get("kind")
        if kind not in missed_kinds:
            raise InvalidRules(source, f"{where}.kind must be one of nearness.missed.kinds, got {kind!r}")
        patterns = item.get("patterns")
        if not isinstance(patterns, list) or not patterns:
            raise InvalidRules(source, f"{where}.patterns must be a non-empty list")
        not_if += [(str(kind), compile_(p, f"{where} pattern {j}")) for j, p in enumerate(patterns)]
    numbers = {}
    for where, part, key, low, high, default in (
            ("nearness", section, "neighbours", 1, 100, 5), ("nearness", section, "min_similarity", 0.0, 1.0, 0.5),
            ("nearness", section, "min_share", 0.0, 1.0, 0.4),
            ("nearness.missed", missed, "min_similarity", 0.0, 1.0, 1.0),
            ("nearness.missed", missed, "min_share", 0.0, 1.0, 1.0)):
        value = part.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise InvalidRules(source, f"{where}.{key} must be a number from {low} to {high}, got {value!r}")
        numbers[f"{where}.{key}"] = value
    # a department's copy of the rules file keeps using the packaged examples unless it ships its own
    path = next((p for p in (base / examples, DEFAULT_RULES.parent / examples) if p.is_file()), base / examples)
    return Nearness(model=model,
                    examples=load_examples(path, tuple(map(str, without))),
                    neighbours=int(numbers["nearness.neighbours"]),
                    min_similarity=float(numbers["nearness.min_similarity"]),
                    min_share=float(numbers["nearness.min_share"]), missed_kinds=tuple(map(str, missed_kinds)),
                    missed_min_similarity=float(numbers["nearness.missed.min_similarity"]),
                    missed_min_share=float(numbers["nearness.missed.min_share"]), missed_not_if=tuple(not_if))


def _mention_rules(items: list, compile_: _Compiler) -> tuple[MentionRule, ...]:
    source, rules, seen_ids = compile_.source, [], set()
    for i, item in enumerate(items):
        where = f"mentions[{i}]"
        _check_mapping(item, where, source)
        rule_id = _require(item, "id", str, source, where)
        if rule_id in seen_ids:
            raise InvalidRules(source, f"{where}: duplicate rule id {rule_id!r}")
        seen_ids.add(rule_id)
        kind = _require(item, "kind", str, source, where)
        if kind not in RULE_KINDS:
            raise InvalidRules(source, f"{where} ({rule_id}): kind {kind!r} is not one of {', '.join(RULE_KINDS)}")
        qualifier = item.get("qualifier")
        if qualifier is not None and qualifier not in QUALIFIERS:
            raise InvalidRules(source, f"{where} ({rule_id}): qualifier {qualifier!r} is not one of {', '.join(QUALIFIERS)}")
        for j, pattern in enumerate(_patterns(item, source, where)):
            rules.append(MentionRule(
                id=rule_id, kind=kind, pattern=compile_(pattern, f"{where} ({rule_id}) pattern {j}"),
                qualifier=qualifier, status_sensitive=bool(item.get("status_sensitive", False)),
                weak=_why(item, source, where)))
    return tuple(rules)


def _exclusions(items: list, compile_: _Compiler) -> tuple[Exclusion, ...]:
    source, exclusions = compile_.source, []
    for i, item in enumerate(items):
        where = f"exclusions[{i}]"
        _check_mapping(item, where, source)
        rule_id = _require(item, "id", str, source, where)
        kinds = _kinds(item, source, where)
        for j, pattern in enumerate(_patterns(item, source, where)):
            exclusions.append(Exclusion(rule_id, kinds, compile_(pattern, f"{where} ({rule_id}) pattern {j}")))
    return tuple(exclusions)


def _triggers(items: list, compile_: _Compiler) -> tuple[Trigger, ...]:
    source, triggers = compile_.source, []
    for i, item in enumerate(items):
        where = f"qualifiers.triggers[{i}]"
        _check_mapping(item, where, source)
        rule_id = _require(item, "id", str, source, where)
        qualifier = _require(item, "qualifier", str, source, where)
        if qualifier not in QUALIFIERS:
            raise InvalidRules(source, f"{where} ({rule_id}): qualifier {qualifier!r} is not one of {', '.join(QUALIFIERS)}")
        direction = item.get("direction", "forward")
        if direction not in DIRECTIONS:
            raise InvalidRules(source, f"{where} ({rule_id}): direction must be one of {', '.join(DIRECTIONS)}")
        window = item.get("window", 6)
        if not isinstance(window, int) or window < 0:
            raise InvalidRules(source, f"{where} ({rule_id}): window must be a whole number of words")
        kinds = _kinds(item, source, where)
        for j, pattern in enumerate(_patterns(item, source, where)):
            triggers.append(Trigger(rule_id, qualifier, direction, window,
                                    compile_(pattern, f"{where} ({rule_id}) pattern {j}"), kinds,
                                    bool(item.get("stop_at_comma", False)), bool(item.get("clause_start", False)),
                                    bool(item.get("ignore_terminators", False)), _why(item, source, where)))
    return tuple(triggers)


def _pseudo_triggers(items: list, compile_: _Compiler) -> tuple[re.Pattern, ...]:
    """`qualifiers.pseudo`: each a pattern, or an item with `patterns` (and `written_for`, like any rule)."""
    out = []
    for i, item in enumerate(items):
        where = f"qualifiers.pseudo[{i}]"
        patterns = _patterns(item, compile_.source, where) if isinstance(item, dict) else [item]
        out.extend(compile_(p, f"{where} pattern {j}") for j, p in enumerate(patterns))
    return tuple(out)


def _policy_list(section: dict, compile_: _Compiler) -> PolicyList:
    source = compile_.source
    return PolicyList(kinds=_kinds(section, source, "policy_list"),
                      joiner=compile_(_require(section, "joiner", str, source, "policy_list"), "policy_list.joiner"),
                      rules=frozenset(_require(section, "rules", list, source, "policy_list")),
                      max_gap_words=int(section.get("max_gap_words", 8)))


def _warrant_resolution(section: dict, compile_: _Compiler) -> WarrantResolution:
    inactive = _require(section, "inactive", str, compile_.source, "warrant_resolution")
    # `inactive_also`: more such words as items, so that each can name the writers it was written for
    also = section.get("inactive_also") or []
    if not isinstance(also, list):
        raise InvalidRules(compile_.source, "warrant_resolution.inactive_also must be a list")
    for i, item in enumerate(also):
        where = f"warrant_resolution.inactive_also[{i}]"
        _check_mapping(item, where, compile_.source)
        inactive += "".join(f"|(?:{pattern})" for pattern in _patterns(item, compile_.source, where))
    question = section.get("charge_question")
    return WarrantResolution(
        inactive=compile_(inactive, "warrant_resolution.inactive"),
        charge_question=compile_(question, "warrant_resolution.charge_question") if question else None)


def _usability(section: dict, compile_: _Compiler) -> Usability:
    source = compile_.source
    numbers = {name: kind(section[name]) for name, kind in (
        ("min_english_words", int), ("min_english_ratio", float), ("noisy_segment_share", float),
        ("troubled_noisy_share", float), ("min_trouble_phrases", int), ("short_call_words", int)) if name in section}
    return Usability(
        noise=compile_(_require(section, "noise", str, source, "usability"), "usability.noise", bounded=False),
        trouble=compile_(_require(section, "trouble", str, source, "usability"), "usability.trouble"),
        english=compile_(_require(section, "english", str, source, "usability"), "usability.english"),
        **numbers)


def _answered_denial(section: dict, compile_: _Compiler) -> AnsweredDenial | None:
    if not section:
        return None
    source = compile_.source
    return AnsweredDenial(
        asked_by=frozenset(_require(section, "asked_by", list, source, "answered_denial")),
        kinds=_kinds(section, source, "answered_denial"),
        answer=compile_(_require(section, "answer", str, source, "answered_denial"), "answered_denial.answer"))


def _present_denied(section: dict, compile_: _Compiler) -> PresentDenied | None:
    if not section:
        return None
    source = compile_.source

    def pattern(key: str) -> re.Pattern:
        return compile_(_require(section, key, str, source, "present_denied"), f"present_denied.{key}")

    return PresentDenied(asked_by=frozenset(_require(section, "asked_by", list, source, "present_denied")),
                         kinds=_kinds(section, source, "present_denied"),
                         now=pattern("now"), about=pattern("about"), answer=pattern("answer"))


def _doubt_rules(items: list, compile_: _Compiler) -> tuple[DoubtRule, ...]:
    source, doubts = compile_.source, []
    for i, item in enumerate(items):
        where = f"doubts[{i}]"
        _check_mapping(item, where, source)
        rule_id = _require(item, "id", str, source, where)
        kind = _require(item, "kind", str, source, where)
        if kind not in KINDS:
            raise InvalidRules(source, f"{where} ({rule_id}): kind {kind!r} is not one of {', '.join(KINDS)}")
        why = _require(item, "why", str, source, where)
        reading = item.get("reading", MAY_COUNT)
        if reading not in (MAY_COUNT, MAY_NOT_COUNT):
            raise InvalidRules(source, f"{where} ({rule_id}): reading must be {MAY_COUNT} or {MAY_NOT_COUNT}")
        for j, pattern in enumerate(_patterns(item, source, where)):
            doubts.append(DoubtRule(rule_id, kind, why, compile_(pattern, f"{where} ({rule_id}) pattern {j}"),
                                    reading))
    return tuple(doubts)


class _Compiler:
    """Turns shorthand patterns into compiled case-insensitive regexes, with errors naming the rule."""

    def __init__(self, lexicons: dict[str, str], source: str):
        self.lexicons, self.source = lexicons, source

    def __call__(self, pattern: str, where: str, bounded: bool = True) -> re.Pattern:
        if not isinstance(pattern, str) or not pattern.strip():
            raise InvalidRules(self.source, f"{where}: a pattern must be a non-empty string")
        expanded = _substitute(pattern, self.lexicons, self.source, where)
        regex = _shorthand(expanded)
        if bounded:  # punctuation-only patterns (sentence ends) must not be bounded by word characters
            regex = r"(?<![\w])(?:" + regex + r")(?![\w])"
        try:
            return re.compile(regex, re.IGNORECASE)
        except re.error as exc:
            raise InvalidRules(self.source, f"{where}: bad regular expression {pattern!r}: {exc}") from None


def _shorthand(pattern: str) -> str:
    """Expand the space / ~ / <N> / ' shorthand described in the module docstring."""
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i:i + 2])
            i += 2
            continue
        gap = _GAP.match(pattern, i)
        if gap:
            # Words between, never across a sentence's end ("... warrant, sorry, I misread. It's the felony
            # warrant ..." is two sentences); the dots of "U.S." or "I-200.5" end none.
            out.append(r"(?:[\w']+(?:[^\w.?!]|[.?!](?=\S)|(?<=\b\w)\.)+){0,%d}" % int(gap.group(1)))
            i = gap.end()
            continue
        if ch in " _":
            out.append(r"[\W_]+")
        elif ch == "~":
            out.append(r"[\W_]*")
        elif ch == "'":
            out.append(r"['\u2019]?")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _substitute(pattern: str, lexicons: dict[str, str], source: str, where: str) -> str:
    def repl(m: re.Match) -> str:
        name = m.group(1)
        if name not in lexicons:
            raise InvalidRules(source, f"{where}: unknown lexicon {{{name}}}")
        return "(?:" + lexicons[name] + ")"
    return _LEXICON_REF.sub(repl, pattern)


def _expand_lexicons(raw: dict, source: str) -> dict[str, str]:
    """Each lexicon is a list of phrases; references between lexicons are expanded (no cycles)."""
    joined: dict[str, str] = {}
    for name, terms in raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            raise InvalidRules(source, f"lexicons: name {name!r} must be UPPER_CASE")
        if isinstance(terms, str):
            terms = [terms]
        if not isinstance(terms, list) or not terms or not all(isinstance(t, str) and t for t in terms):
            raise InvalidRules(source, f"lexicons.{name}: must be a non-empty list of phrases")
        joined[name] = "|".join(f"(?:{t})" for t in terms)
    done: dict[str, str] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> str:
        if name in done:
            return done[name]
        if name in stack:
            raise InvalidRules(source, f"lexicons: {' -> '.join(stack + (name,))} is a cycle")
        text = _LEXICON_REF.sub(
            lambda m: "(?:" + resolve(m.group(1), stack + (name,)) + ")" if m.group(1) in joined
            else _unknown(m.group(1), name, source), joined[name])
        done[name] = text
        return text

    for name in joined:
        resolve(name, ())
    return done


def _unknown(ref: str, name: str, source: str) -> str:
    raise InvalidRules(source, f"lexicons.{name}: unknown lexicon {{{ref}}}")


def _require(data: dict, key: str, types, source: str, where: str | None = None):
    if key not in data:
        raise InvalidRules(source, f"missing key {key!r}" + (f" in {where}" if where else ""))
    value = data[key]
    if not isinstance(value, types) or isinstance(value, bool):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise InvalidRules(source, f"{(where + '.') if where else ''}{key} must be {names}, got {type(value).__name__}")
    return value


def _check_mapping(item: object, where: str, source: str) -> None:
    if not isinstance(item, dict):
        raise InvalidRules(source, f"{where}: must be a mapping, got {type(item).__name__}")


def _patterns(item: dict, source: str, where: str) -> list[str]:
    patterns = item.get("patterns", [item["pattern"]] if "pattern" in item else None)
    if not isinstance(patterns, list) or not patterns:
        raise InvalidRules(source, f"{where}: needs `pattern` or a non-empty `patterns` list")
    return patterns


def _probability(section: dict, source: str) -> float:
    value = section.get("min_word_probability", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise InvalidRules(source, f"transcript_confidence.min_word_probability must be a number from 0 to 1, got {value!r}")
    return float(value)


def _why(item: dict, source: str, where: str) -> str | None:
    """The optional `weak:` of a mention rule or trigger: a plain-language reason, shown to reviewers."""
    why = item.get("weak")
    if why is not None and (not isinstance(why, str) or not why.strip()):
        raise InvalidRules(source, f"{where}: weak must be a sentence saying why the reading is unsure")
    return why


def _kinds(item: dict, source: str, where: str) -> frozenset[str]:
    kinds = item.get("kinds", list(RULE_KINDS))
    if not isinstance(kinds, list) or any(k not in RULE_KINDS for k in kinds):
        raise InvalidRules(source, f"{where}: kinds must be a list drawn from {', '.join(RULE_KINDS)}")
    return frozenset(kinds)
