"""The secret that keys the audit log, kept in a file outside the database.

Each audit row's hash is HMAC-SHA256 under this key (`callreview.storage.audit`), and so is each checkpoint
(`callreview.storage.checkpoints`): rewriting the log with SQL alone, hashes recomputed, no longer yields a chain
that verifies. The file holds 64 hex digits (32 random bytes) and a newline. It is made on first use
with mode 0600: written under a temporary name, then hard-linked into place, so two processes that start
together end up with the one key that won the link.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from callreview.storage.errors import StorageError

logger = logging.getLogger(__name__)

KEY_BYTES = 32
_KEY_ID_LABEL = b"callreview audit key id"


class AuditKeyError(StorageError):
    """The key file cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem} (setting CALLREVIEW_AUDIT_KEY_FILE)")


@dataclass(frozen=True)
class AuditKey:
    path: Path
    secret: bytes = field(repr=False)

    @property
    def id(self) -> str:
        """A public name for the key (16 hex digits), stored on each row it signs; it reveals nothing of it."""
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def sign(self, payload: bytes) -> str:
        """HMAC-SHA256 of `payload`, as 64 hex digits."""
        return hmac.new(self.secret, payload, hashlib.sha256).hexdigest()


def read_key(path: Path) -> AuditKey | None:
    """The key in `path`, or None when there is no such file.

    Raises:
        AuditKeyError: the file cannot be read or does not hold a key.
    """
    path = Path(path)
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(path, f"cannot read the audit key: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != KEY_BYTES:
        raise AuditKeyError(path, f"does not hold an audit key ({KEY_BYTES * 2} hex digits)")
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("%s: the audit key is readable by others (mode %o); chmod 600 it", path,
                       stat.S_IMODE(info.st_mode))
    return AuditKey(path, secret)


def create_key(path: Path) -> AuditKey:
    """Make a new key file at `path` (mode 0600), or read the one another process made first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(KEY_BYTES) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)  # fails if the file exists: never replaces a key
            logger.warning("%s: created a new audit key; back it up apart from the database", path)
        except FileExistsError:
            pass
    finally:
        temp.unlink(missing_ok=True)
    key = read_key(path)
    if key is None:
        raise AuditKeyError(path, "vanished right after it was created")
    return key
