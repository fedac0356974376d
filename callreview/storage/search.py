"""Full-text search over the current transcript version of every call.

What happens, in order:
1. `parse_query` reads what a supervisor typed (words, "exact phrases", prefix*, AND/OR/NOT,
   parentheses) into a small tree, refusing malformed input with `InvalidSearchQuery`. The tree is the
   escaping: every word and phrase reaches the database as a quoted string or a bound parameter, so
   no user text is ever read as FTS5, tsquery or SQL syntax.
2. `search_sql` renders the tree and the filters as one statement for the dialect, SQLite and
   PostgreSQL side by side below.
3. `search` runs it and returns `SearchHit` rows, best first.
A search by filters alone, with no words, is `list_matching_calls`: one hit per call that passes the
same filters, with the same meaning.

The index is made by the Alembic revision aa885ebc9d1f (callreview/storage/migrations/versions), when
the schema is migrated, never by a search. SQLite: `segment_fts` is an FTS5 table that holds only
segments of *current* transcript versions, each row keyed (call_pk << CALL_SHIFT) + segment idx with
the segment's id beside it. Triggers keep it in step: a segment inserted into a current transcript is
indexed, and a transcript that stops (or starts) being current takes its segments out of (or into) the
index. Searching therefore never needs to look at superseded versions. PostgreSQL: a GIN index over
`to_tsvector('english', text)`; only-current is a join. Both: `segment_fts_tag_counted`, an index of
counted mentions (no qualifier) by kind, which the tag filter reads.

Filters apply to the call: its logged decision, commanding officer (case-insensitive substring),
`received_at` range, current verdict, and tag kind. A tag filter keeps calls whose *current*
assessment has a counted mention of that kind (a mention with no qualifier), the same test the policy
check uses, so `--tag door_knock` does not return calls where a door knock was only refused or negated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import DateTime, bindparam, text
from sqlmodel import Session

from callreview.storage.dates import as_utc, check_period, day_start
from callreview.storage.errors import StorageError

# Highlight markers around matched words in snippets: private-use characters never found in transcripts,
# so a web page can HTML-escape the snippet first and then turn them into <mark> (callreview.web.templating),
# and a terminal can style them (callreview.cli.output). Defined here only.
MARK_START = "\ue000"
MARK_END = "\ue001"
ELLIPSIS = "…"
FTS_TABLE = "segment_fts"
# Index rowid = (call_pk << CALL_SHIFT) + segment idx: room for a million segments per call.
CALL_SHIFT = 20  # frozen in revision aa885ebc9d1f, which built the index: a change needs a new revision
# Matches ranked per query: those of the newest calls, this many (after filters); see _SQLITE_SEARCH.
RANK_WINDOW = 2_000
SNIPPET_TOKENS = 16
# PostgreSQL text search configuration; SQLite uses the matching Porter stemmer so both find "knocking"
# for "knock".
PG_CONFIG = "english"
MAX_QUERY_CHARS = 500
MIN_PREFIX_CHARS = 2
OPERATORS = ("AND", "OR", "NOT")


class InvalidSearchQuery(StorageError, ValueError):
    """A search query that cannot be read; the message says what is wrong and how to write it."""

    def __init__(self, query: str, problem: str):
        self.query, self.problem = query, problem
        super().__init__(f"search query {query!r}: {problem}")


# --- the query language -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """A word (`prefix` when typed as warr*) or a quoted phrase.

    `words` are its letter/digit runs (what FTS5 indexes); `typed` is the text as typed, for PostgreSQL,
    whose parser reads e.g. "I-200" its own way and must read the query the way it read the transcript.
    """

    words: tuple[str, ...]
    prefix: bool = False
    phrase: bool = False
    typed: str = ""


@dataclass(frozen=True)
class And:
    items: tuple


@dataclass(frozen=True)
class Or:
    items: tuple


@dataclass(frozen=True)
class Not:
    item: object


_TOKEN = re.compile(r'\s*(?:(?P<quote>"[^"]*"?)|(?P<paren>[()])|(?P<bare>[^\s()"]+))')
_WORD = re.compile(r"\w+")


def parse_query(query: str):
    """Read a search query into a tree of Term, And, Or and Not.

    Words next to each other must all match (AND). Operators are AND, OR and NOT in capitals (lower
    case they are words); NOT excludes, so it needs something to exclude from: `warrant NOT detainer`.
    Words are stemmed on both databases; PostgreSQL also ignores English stop words ("and", "the").

    Args:
        query: what the user typed.

    Returns:
        The tree's root.

    Raises:
        InvalidSearchQuery: empty, unbalanced quotes or parentheses, a dangling operator, a lone NOT,
            a bad prefix.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidSearchQuery(query[:40] + "…", f"is longer than {MAX_QUERY_CHARS} characters")
    tokens = _tokens(query)
    if not tokens:
        raise InvalidSearchQuery(query, "has no words to search for")
    parser = _Parser(query, tokens)
    tree = parser.parse()
    _check_negation(query, tree)
    return tree


def _tokens(query: str) -> list[tuple[str, object]]:
    """Split into ("(" | ")" | "AND" | "OR" | "NOT" | "term", Term) tokens; punctuation-only words are dropped."""
    out: list[tuple[str, object]] = []
    pos = 0
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if m is None or m.end() == pos:  # only trailing spaces left
            break
        pos = m.end()
        if m["paren"]:
            out.append((m["paren"], None))
        elif m["quote"] is not None:
            raw = m["quote"]
            if len(raw) < 2 or not raw.endswith('"'):
                raise InvalidSearchQuery(query, 'has an opening " without a closing one')
            words = tuple(_WORD.findall(raw[1:-1]))
            if not words:
                raise InvalidSearchQuery(query, 'has an empty phrase ""; put words between the quotes')
            if query[pos:pos + 1] == "*":
                raise InvalidSearchQuery(query, "prefix search works on single words, as in warr*, not on phrases")
            out.append(("term", Term(words, phrase=True, typed=raw[1:-1])))
        else:
            out.extend(_bare(query, m["bare"]))
    return out


def _bare(query: str, raw: str) -> list[tuple[str, object]]:
    if raw in OPERATORS:
        return [(raw, None)]
    prefix = raw.endswith("*")
    body = raw.rstrip("*") if prefix else raw
    if "*" in body or (prefix and raw.count("*") > 1):
        raise InvalidSearchQuery(query, f"{raw!r}: * may only end a word, as in warr*")
    words = tuple(_WORD.findall(body))
    if prefix:
        if len(words) != 1 or words[0] != body:
            raise InvalidSearchQuery(query, f"{raw!r}: prefix search works on a single word of letters or "
                                            "digits, as in warr*")
        if len(body) < MIN_PREFIX_CHARS:
            raise InvalidSearchQuery(query, f"{raw!r}: a prefix needs at least {MIN_PREFIX_CHARS} characters "
                                            "before the *")
    if not words:
        return []  # punctuation alone, e.g. "&": the index ignores it too
    # "I-200" is one typed word but two index tokens: searched as the phrase "I 200".
    return [("term", Term(words, prefix=prefix, phrase=len(words) > 1, typed=body))]


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary ([AND] unary)*; unary := NOT unary | atom."""

    def __init__(self, query: str, tokens: list[tuple[str, object]]):
        self.query, self.tokens, self.pos = query, tokens, 0

    def parse(self):
        tree = self._or()
        if self.pos < len(self.tokens):
            kind = self.tokens[self.pos][0]
            if kind == ")":
                raise InvalidSearchQuery(self.query, "has a ) without a matching (")
            raise InvalidSearchQuery(self.query, f"unexpected {kind}")
        return tree

    def _peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def _or(self):
        items = [self._and()]
        while self._peek() == "OR":
            self.pos += 1
            items.append(self._and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def _and(self):
        items = [self._unary()]
        while self._peek() not in (None, ")", "OR"):
            if self._peek() == "AND":
                self.pos += 1
            items.append(self._unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def _unary(self):
        kind = self._peek()
        if kind == "NOT":
            self.pos += 1
            return Not(self._unary())
        if kind == "(":
            self.pos += 1
            inner = self._or()
            if self._peek() != ")":
                raise InvalidSearchQuery(self.query, "has a ( without a matching )")
            self.pos += 1
            return inner
        if kind == "term":
            self.pos += 1
            return self.tokens[self.pos - 1][1]
        if kind is None:
            raise InvalidSearchQuery(self.query, "ends with an operator; put a word after it")
        if kind == ")":
            raise InvalidSearchQuery(self.query, "has an empty ( ) or an operator right before )")
        raise InvalidSearchQuery(self.query, f"{kind} needs a word on each side, as in warrant {kind} detainer"
                                 if kind != "NOT" else "NOT needs a word after it")


def _check_negation(query: str, node, parent=None) -> None:
    """NOT only narrows an AND that also has something positive (both FTS5 and tsquery need that to be fast)."""
    if isinstance(node, Not):
        if not isinstance(parent, And):
            raise InvalidSearchQuery(query, "NOT needs something to exclude from, as in warrant NOT detainer")
        _check_negation(query, node.item, node)
    elif isinstance(node, (And, Or)):
        if isinstance(node, And) and all(isinstance(i, Not) for i in node.items):
            raise InvalidSearchQuery(query, "NOT needs something to exclude from, as in warrant NOT detainer")
        for item in node.items:
            _check_negation(query, item, node)


# --- rendering per dialect ---------------------------------------------------------------------------

def _fts5_string(words: tuple[str, ...]) -> str:
    # A double-quoted FTS5 string is never read as syntax; embedded quotes are doubled.
    return '"' + " ".join(words).replace('"', '""') + '"'


def to_fts5(node) -> str:
    """Render a parsed query as an FTS5 MATCH expression (fully quoted, parenthesised)."""
    if isinstance(node, Term):
        return _fts5_string(node.words) + ("*" if node.prefix else "")
    if isinstance(node, Or):
        return "(" + " OR ".join(to_fts5(i) for i in node.items) + ")"
    if isinstance(node, And):
        positive = [to_fts5(i) for i in node.items if not isinstance(i, Not)]
        expr = positive[0] if len(positive) == 1 else "(" + " AND ".join(positive) + ")"
        for neg in (i for i in node.items if isinstance(i, Not)):
            expr = f"({expr} NOT {to_fts5(neg.item)})"
        return expr
    raise TypeError(f"cannot render {node!r}")  # Not outside And is refused by parse_query


def to_tsquery_sql(node, params: dict) -> str:
    """Render a parsed query as a PostgreSQL tsquery expression; words go into `params`."""
    if isinstance(node, Term):
        name = f"w{len(params)}"
        if node.prefix:
            # The word is letters/digits only (checked by the parser), so ':*' is the only syntax here.
            params[name] = node.words[0] + ":*"
            return f"to_tsquery('{PG_CONFIG}', :{name})"
        params[name] = node.typed or " ".join(node.words)
        fn = "phraseto_tsquery" if node.phrase else "plainto_tsquery"
        return f"{fn}('{PG_CONFIG}', :{name})"
    if isinstance(node, Or):
        return "(" + " || ".join(to_tsquery_sql(i, params) for i in node.items) + ")"
    if isinstance(node, And):
        parts = [to_tsquery_sql(i, params) for i in node.items if not isinstance(i, Not)]
        parts += ["!!" + to_tsquery_sql(i.item, params) for i in node.items if isinstance(i, Not)]
        return "(" + " && ".join(parts) + ")"
    raise TypeError(f"cannot render {node!r}")


# --- filters, shared by both dialects ----------------------------------------------------------------

@dataclass(frozen=True)
class SearchFilters:
    """Call-level filters; None means "any"."""

    tag: str | None = None
    officer: str | None = None
    date_from: date | datetime | None = None
    date_to: date | datetime | None = None
    decision: str | None = None
    verdict: str | None = None


def _like_pattern(fragment: str) -> str:
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _date_to_clause(filters: SearchFilters) -> str:
    if filters.date_to is None:
        return ""
    return "d.received_at < :date_to"


def _call_filter_sql(filters: SearchFilters, params: dict, dialect: str) -> list[str]:
    """Subqueries of call pks that pass the filters (all must hold); values go into params.

    Each is built once per query as a set, so a candidate segment costs a probe per set, not a chain
    of joins; one set per table keeps each set cheap to build.
    """
    log_where: list[str] = []
    assessment_where: list[str] = []
    if filters.officer:
        params["officer"] = _like_pattern(filters.officer)
        # SQLite's LIKE already ignores ASCII case (and lower() on every row costs); PostgreSQL has ILIKE.
        like = "LIKE" if dialect == "sqlite" else "ILIKE"
        log_where.append(f"d.commanding_officer {like} :officer ESCAPE '\\'")
    no_log = filters.decision == "none"
    if filters.decision and not no_log:
        params["decision"] = filters.decision
        log_where.append("d.decision = :decision")
    if filters.date_from is not None:
        params["date_from"] = day_start(filters.date_from)
        log_where.append("d.received_at >= :date_from")
    if filters.date_to is not None:
        # A date includes the whole day; a datetime is the first instant no longer included.
        end = filters.date_to
        params["date_to"] = day_start(end) + (timedelta(0) if isinstance(end, datetime) else timedelta(days=1))
        log_where.append(_date_to_clause(filters))
    if filters.verdict:
        params["verdict"] = filters.verdict
        assessment_where.append("a.verdict = :verdict")
    parts = []
    if no_log:
        # "none": calls with no logged decision (queued as missing_log); log filters cannot also hold.
        parts.append("SELECT c.id FROM call c WHERE NOT EXISTS (SELECT 1 FROM decision_log d "
                     "WHERE d.call_pk = c.id)")
    if log_where:
        parts.append("SELECT d.call_pk FROM decision_log d WHERE " + " AND ".join(log_where))
    if filters.tag:
        params["tag"] = filters.tag
        # Driven from the counted-mention index: only assessments with such a mention are looked at.
        parts.append("SELECT a.call_pk FROM tag g JOIN assessment a ON a.id = g.assessment_pk "
                     "WHERE g.kind = :tag AND g.qualifier IS NULL AND a.is_current"
                     + "".join(f" AND {w}" for w in assessment_where))
    elif assessment_where:
        parts.append("SELECT a.call_pk FROM assessment a WHERE a.is_current AND " + " AND ".join(assessment_where))
    return parts


def _check_page(query: str, limit: int, offset: int) -> None:
    if limit < 1 or limit > 1000:
        raise InvalidSearchQuery(query, f"limit must be between 1 and 1000, got {limit}")
    if offset < 0:
        raise InvalidSearchQuery(query, f"offset must be 0 or more, got {offset}")
    if offset + limit > RANK_WINDOW:
        raise InvalidSearchQuery(query, f"only the best of the {RANK_WINDOW:,} most recent matches can be paged "
                                        "through; narrow the query or add filters (e.g. a date range)")


# --- SQLite ------------------------------------------------------------------------------------------

# Ranking is bounded: the RANK_WINDOW matches of the newest calls that pass the filters are taken in
# rowid order (FTS5 walks its doclist backwards, no sort), and only those are scored with bm25 and
# sorted. bm25 costs about a microsecond a row, so ranking every "warrant" in a million segments would
# not stay fast. The page is kept (MATERIALIZED), and its snippets come from one more pass of the match
# over the page's rowid range, the page's rows picked by `+rowid IN`, whose `+` keeps that test out of
# FTS5's hands. Looking each hit up with `rowid = key AND MATCH` instead makes FTS5 evaluate the query
# again per hit: for a prefix it merges every matching term's postings each time, and "warr*" took
# 146 ms for a page of 50 at a million segments (49 ms for 1).
_SQLITE_SEARCH = """
WITH hit AS MATERIALIZED (
    SELECT key, segment_id, score FROM (
        SELECT {fts}.rowid AS key, {fts}.segment_id AS segment_id, bm25({fts}) AS score
        FROM {fts}
        WHERE {fts} MATCH :match {where}
        ORDER BY {fts}.rowid DESC
        LIMIT :window
    )
    ORDER BY score, key DESC
    LIMIT :limit OFFSET :offset
),
snip AS MATERIALIZED (
    SELECT {fts}.rowid AS key,
           snippet({fts}, 0, :mark_start, :mark_end, :ellipsis, :snippet_tokens) AS snippet
    FROM {fts}
    WHERE {fts} MATCH :match
      AND {fts}.rowid >= (SELECT min(key) FROM hit) AND {fts}.rowid <= (SELECT max(key) FROM hit)
      AND +{fts}.rowid IN (SELECT key FROM hit)
)
SELECT c.call_id AS call_id, s.idx AS idx, s.start AS start, s."end" AS "end", s.speaker AS speaker,
       snip.snippet AS snippet, -hit.score AS rank,
       d.received_at AS received_at, d.commanding_officer AS commanding_officer, d.decision AS decision,
       a.verdict AS verdict
FROM hit
CROSS JOIN snip ON snip.key = hit.key
CROSS JOIN segment s ON s.id = hit.segment_id
CROSS JOIN call c ON c.id = hit.key >> {shift}
LEFT JOIN decision_log d ON d.call_pk = c.id
LEFT JOIN assessment a ON a.call_pk = c.id AND a.is_current
ORDER BY hit.score, hit.key DESC
"""
# CROSS JOIN fixes SQLite's join order: the page of hits first, then the rows that go with each.


def _sqlite_search_sql(tree, filters: SearchFilters, params: dict) -> str:
    params.update(match=to_fts5(tree), mark_start=MARK_START, mark_end=MARK_END, ellipsis=ELLIPSIS,
                  snippet_tokens=SNIPPET_TOKENS, window=RANK_WINDOW)
    where = "".join(f" AND ({FTS_TABLE}.rowid >> {CALL_SHIFT}) IN ({calls})"
                    for calls in _call_filter_sql(filters, params, "sqlite"))
    if filters.date_from is not None or filters.date_to is not None:
        # Calls are processed in roughly the order they were received, so a date range is a narrow
        # band of call pks: FTS5 then reads only that rowid range instead of the whole match list.
        dates = " AND ".join(c for c in ("d.received_at >= :date_from" if filters.date_from is not None else "",
                                         _date_to_clause(filters)) if c)
        where += (f" AND {FTS_TABLE}.rowid >= (SELECT min(d.call_pk) FROM decision_log d WHERE {dates}) << {CALL_SHIFT}"
                  f" AND {FTS_TABLE}.rowid < ((SELECT max(d.call_pk) FROM decision_log d WHERE {dates}) + 1)"
                  f" << {CALL_SHIFT}")
    return _SQLITE_SEARCH.format(fts=FTS_TABLE, where=where, shift=CALL_SHIFT)


# --- PostgreSQL --------------------------------------------------------------------------------------

# The same bounded ranking as SQLite: the newest RANK_WINDOW matches, then ts_rank_cd on those only
# (it re-parses the text of each row it scores), then ts_headline on the page only.
_PG_SEARCH = """
SELECT c.call_id AS call_id, s.idx AS idx, s.start AS start, s."end" AS "end", s.speaker AS speaker,
       d.received_at AS received_at, d.commanding_officer AS commanding_officer, d.decision AS decision,
       a.verdict AS verdict,
       ts_headline('{config}', s.text, hit.query,
                   'StartSel="{mark_start}", StopSel="{mark_end}", FragmentDelimiter="{ellipsis}", '
                   'MaxFragments=2, MaxWords=16, MinWords=6') AS snippet,
       hit.score AS rank
FROM (
    SELECT w.segment_id, w.query, ts_rank_cd(to_tsvector('{config}', w.text), w.query) AS score
    FROM (
        SELECT s.id AS segment_id, s.text AS text, q.query AS query
        FROM (SELECT {tsquery} AS query) AS q
        JOIN segment s ON to_tsvector('{config}', s.text) @@ q.query
        JOIN transcript t ON t.id = s.transcript_pk AND t.is_current
        WHERE TRUE {where}
        ORDER BY s.id DESC
        LIMIT :window
    ) AS w
    ORDER BY score DESC, w.segment_id
    LIMIT :limit OFFSET :offset
) AS hit
JOIN segment s ON s.id = hit.segment_id
JOIN transcript t ON t.id = s.transcript_pk
JOIN call c ON c.id = t.call_pk
LEFT JOIN decision_log d ON d.call_pk = c.id
LEFT JOIN assessment a ON a.call_pk = c.id AND a.is_current
ORDER BY hit.score DESC, hit.segment_id
"""


def _pg_search_sql(tree, filters: SearchFilters, params: dict) -> str:
    params["window"] = RANK_WINDOW
    tsquery = to_tsquery_sql(tree, params)
    where = "".join(f" AND t.call_pk IN ({calls})" for calls in _call_filter_sql(filters, params, "postgresql"))
    return _PG_SEARCH.format(config=PG_CONFIG, mark_start=MARK_START, mark_end=MARK_END, ellipsis=ELLIPSIS,
                             tsquery=tsquery, where=where)


# --- public API --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SearchHit:
    """One matching segment of a current transcript, with its call's facts.

    `rank`: higher is better (negated bm25 on SQLite, ts_rank_cd on PostgreSQL); comparable within one
    result list only. `snippet` marks matches with MARK_START/MARK_END.
    """

    call_id: str
    segment_idx: int
    start: float
    end: float
    speaker: str
    snippet: str
    rank: float
    received_at: datetime | None = None
    commanding_officer: str | None = None
    decision: str | None = None
    verdict: str | None = None

    def to_dict(self) -> dict:
        return {"call_id": self.call_id, "segment": self.segment_idx, "start": self.start, "end": self.end,
                "speaker": self.speaker, "snippet": self.snippet, "rank": self.rank,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "commanding_officer": self.commanding_officer, "decision": self.decision,
                "verdict": self.verdict}


def search_sql(dialect: str, query: str, *, tag: str | None = None, officer: str | None = None,
               date_from: date | datetime | None = None, date_to: date | datetime | None = None,
               decision: str | None = None, verdict: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[str, dict]:
    """Build the search statement for a dialect without running it.

    Args:
        dialect: "sqlite" or "postgresql".
        query: the user's query (see `parse_query`).
        tag, officer, date_from, date_to, decision, verdict: call-level filters (see the module docstring).
        limit, offset: the page of hits.

    Returns:
        (SQL text with named parameters, the parameters).

    Raises:
        InvalidSearchQuery: the query cannot be read, or limit/offset are out of range.
        DateOutOfRange: a date (not datetime) filter lies outside callreview.storage.dates.FIRST_DAY..LAST_DAY.
    """
    _check_page(query, limit, offset)
    check_period(date_from, date_to)
    tree = parse_query(query)
    filters = SearchFilters(tag=tag, officer=officer, date_from=date_from, date_to=date_to, decision=decision,
                            verdict=verdict)
    params: dict = {"limit": limit, "offset": offset}
    if dialect == "sqlite":
        return _sqlite_search_sql(tree, filters, params), params
    if dialect == "postgresql":
        return _pg_search_sql(tree, filters, params), params
    raise StorageError(f"search: database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)")


def search(session: Session, query: str, *, tag: str | None = None, officer: str | None = None,
           date_from: date | datetime | None = None, date_to: date | datetime | None = None,
           decision: str | None = None, verdict: str | None = None, limit: int = 50,
           offset: int = 0) -> list[SearchHit]:
    """Search the current transcripts; best hits first.

    Args:
        session: an open session.
        query: words, "exact phrases", prefix*, AND/OR/NOT and parentheses; adjacent words must all match.
        tag: a tag kind counted in the call's current assessment (e.g. door_knock).
        officer: part of the commanding officer's name, any case.
        date_from, date_to: received_at range. Dates are whole UTC days, both included; datetimes are
            instants (naive = UTC), `date_to` excluded.
        decision: the logged decision (dispatched or declined), or "none" for calls with no log.
        verdict: the current verdict (consistent, mismatch, needs_review).
        limit, offset: the page of hits.

    Returns:
        SearchHit rows, best first. A query matching more than RANK_WINDOW segments (after filters) is
        ranked among the RANK_WINDOW matches from the most recently processed calls.

    Raises:
        InvalidSearchQuery: the query cannot be read.
        DateOutOfRange: a date (not datetime) filter lies outside callreview.storage.dates.FIRST_DAY..LAST_DAY.
    """
    sql, params = search_sql(session.get_bind().dialect.name, query, tag=tag, officer=officer, date_from=date_from,
                             date_to=date_to, decision=decision, verdict=verdict, limit=limit, offset=offset)
    return [_hit(r, r["snippet"] or "", float(r["rank"] or 0.0)) for r in _run(session, sql, params)]


def _run(session: Session, sql: str, params: dict):
    statement = text(sql).columns(received_at=DateTime())
    for name in ("date_from", "date_to"):
        if name in params:
            # Typed, so each dialect stores and compares the datetime the way the column holds it.
            statement = statement.bindparams(bindparam(name, type_=DateTime()))
    return session.connection().execute(statement, params).mappings()


def _hit(row, snippet: str, rank: float) -> SearchHit:
    return SearchHit(call_id=row["call_id"], segment_idx=row["idx"], start=row["start"], end=row["end"],
                     speaker=row["speaker"], snippet=snippet, rank=rank, received_at=as_utc(row["received_at"]),
                     commanding_officer=row["commanding_officer"], decision=row["decision"], verdict=row["verdict"])


# --- calls by their filters alone (no words) ---------------------------------------------------------
# One line per call that passes the filters, newest call first: its first segment, or, with a tag
# filter, the first segment where that kind counts (so the line leads to the evidence). The same
# filters, with the same meaning, as `search`; plain SQL that both dialects read alike.

LISTING_SNIPPET_CHARS = 140

_LIST_CALLS = """
SELECT c.call_id AS call_id, s.idx AS idx, s.start AS start, s."end" AS "end", s.speaker AS speaker, s.text AS text,
       d.received_at AS received_at, d.commanding_officer AS commanding_officer, d.decision AS decision,
       a.verdict AS verdict
FROM call c
JOIN transcript t ON t.call_pk = c.id AND t.is_current
JOIN segment s ON s.transcript_pk = t.id AND s.idx = {segment}
LEFT JOIN decision_log d ON d.call_pk = c.id
LEFT JOIN assessment a ON a.call_pk = c.id AND a.is_current
WHERE 1 = 1 {where}
ORDER BY CASE WHEN d.received_at IS NULL THEN 1 ELSE 0 END, d.received_at DESC, c.call_id
LIMIT :limit OFFSET :offset
"""
_FIRST_SEGMENT = "(SELECT min(f.idx) FROM segment f WHERE f.transcript_pk = t.id)"
# The tag's segment must exist in the current transcript; if not (a stale assessment), the first segment.
_FIRST_COUNTED_SEGMENT = (
    "COALESCE((SELECT min(g.segment_idx) FROM tag g JOIN assessment ga ON ga.id = g.assessment_pk"
    " WHERE ga.call_pk = c.id AND ga.is_current AND g.kind = :tag AND g.qualifier IS NULL"
    " AND EXISTS (SELECT 1 FROM segment f WHERE f.transcript_pk = t.id AND f.idx = g.segment_idx)),"
    f" {_FIRST_SEGMENT})")


def list_calls_sql(dialect: str, *, tag: str | None = None, officer: str | None = None,
                   date_from: date | datetime | None = None, date_to: date | datetime | None = None,
                   decision: str | None = None, verdict: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[str, dict]:
    """Build the statement of `list_matching_calls` for a dialect without running it (arguments as there)."""
    if dialect not in ("sqlite", "postgresql"):
        raise StorageError(f"search: database dialect {dialect!r} is not supported (use SQLite or PostgreSQL)")
    if limit < 1 or limit > 1000 or offset < 0:
        raise InvalidSearchQuery("", f"limit must be between 1 and 1000 and offset 0 or more, got {limit}, {offset}")
    check_period(date_from, date_to)
    filters = SearchFilters(tag=tag, officer=officer, date_from=date_from, date_to=date_to, decision=decision,
                            verdict=verdict)
    params: dict = {"limit": limit, "offset": offset}
    where = "".join(f" AND c.id IN ({calls})" for calls in _call_filter_sql(filters, params, dialect))
    segment = _FIRST_COUNTED_SEGMENT if tag else _FIRST_SEGMENT
    return _LIST_CALLS.format(segment=segment, where=where), params


def list_matching_calls(session: Session, *, tag: str | None = None, officer: str | None = None,
                        date_from: date | datetime | None = None, date_to: date | datetime | None = None,
                        decision: str | None = None, verdict: str | None = None, limit: int = 50,
                        offset: int = 0) -> list[SearchHit]:
    """The calls that pass the filters, one hit per call, newest call first (calls with no log last).

    A search with filters and no words. Each hit is the call's first segment, or, with `tag`, the first
    segment where that kind counts; its snippet is the segment's opening LISTING_SNIPPET_CHARS
    characters, unmarked, and its rank 0. Only calls with a current transcript are listed.

    Args:
        session: an open session.
        tag, officer, date_from, date_to, decision, verdict: as in `search` (the same meaning).
        limit, offset: the page of calls.

    Raises:
        InvalidSearchQuery: limit or offset out of range.
        DateOutOfRange: a date (not datetime) filter lies outside callreview.storage.dates.FIRST_DAY..LAST_DAY.
    """
    sql, params = list_calls_sql(session.get_bind().dialect.name, tag=tag, officer=officer, date_from=date_from,
                                 date_to=date_to, decision=decision, verdict=verdict, limit=limit, offset=offset)
    return [_hit(r, _opening(r["text"]), 0.0) for r in _run(session, sql, params)]


def _opening(text_: str) -> str:
    if len(text_) <= LISTING_SNIPPET_CHARS:
        return text_
    return text_[:LISTING_SNIPPET_CHARS] + ELLIPSIS


