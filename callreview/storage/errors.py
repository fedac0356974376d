"""Errors raised by the storage layer; messages start with the file or setting, then the problem."""
from __future__ import annotations


class StorageError(Exception):
    """Base for everything the storage layer raises on purpose."""


class ArchiveError(StorageError, OSError):
    def __init__(self, path: str, problem: str):
        self.path, self.problem = path, problem
        super().__init__(f"{path}: {problem}")


class FileTooLarge(ArchiveError):
    def __init__(self, path: str, size: int, maximum: int):
        self.size, self.maximum = size, maximum
        super().__init__(path, f"file is {size:,} bytes, over the limit of {maximum:,} bytes "
                               "(setting CALLREVIEW_MAX_FILE_BYTES)")


class SettingError(StorageError, ValueError):
    pass
