"""Which call ids callreview accepts.

A call id comes from a sidecar (or a file name), so it is untrusted text, and it ends up as a database
key, in URLs (`/calls/<call_id>`), in file names of exports and in audit rows. Only plain ASCII letters,
digits and `.`, `_`, `-` are allowed, starting with a letter or digit, at most 128 characters, and never
`..`: nothing that is a path separator, a control or invisible character, or a look-alike Unicode letter
that would make two different ids print the same.
"""
from __future__ import annotations

import re

MAX_LENGTH = 128
_ALLOWED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
RULE = (f"a call id must be 1-{MAX_LENGTH} ASCII letters, digits, '.', '_' or '-', start with a letter or "
        "digit, and not contain '..'")


def call_id_problem(call_id: str) -> str | None:
    """Why `call_id` is not acceptable (a sentence that quotes the rule), or None when it is."""
    if not isinstance(call_id, str) or not call_id:
        return f"call id is empty; {RULE}"
    shown = ascii(call_id)  # control and non-ASCII characters shown escaped, never raw
    if len(call_id) > MAX_LENGTH:
        return f"call id {shown[:40]}… is {len(call_id)} characters long; {RULE}"
    if not _ALLOWED.fullmatch(call_id) or ".." in call_id:
        return f"call id {shown} is not allowed; {RULE}"
    return None
