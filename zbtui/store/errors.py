"""Errors the store layer raises: one clear line each, never a traceback."""

from __future__ import annotations

import apsw

__all__ = ["QueryCancelled", "StoreError", "describe_sqlite_error"]


class StoreError(Exception):
    """A problem with the database or its files, worded for the user.

    The message is one line that names the file and what was found, fit for a
    notification in the UI or a line on stderr.
    """


class QueryCancelled(StoreError):
    """A query was abandoned because a newer one superseded it."""


def describe_sqlite_error(exc: BaseException, path: str) -> str:
    """Turn an apsw exception into a one-line message naming the file."""
    if isinstance(exc, apsw.NotADBError):
        return f"{path}: not a SQLite database (file is encrypted or is not a database)"
    if isinstance(exc, apsw.CorruptError):
        return f"{path}: the database is damaged (SQLite: {exc})"
    if isinstance(exc, apsw.BusyError | apsw.LockedError):
        return f"{path}: the database is locked by another process; try again when it is released"
    if isinstance(exc, apsw.CantOpenError):
        return f"{path}: cannot open the database (missing, unreadable, or its -wal/-shm files are)"
    if isinstance(exc, apsw.AuthError):
        return f"{path}: refused: zbtui never writes to a store database"
    if isinstance(exc, apsw.ReadOnlyError):
        return f"{path}: the database needs writing to be read (read-only filesystem without -shm)"
    if isinstance(exc, apsw.IOError):
        return f"{path}: I/O error while reading the database ({exc})"
    if isinstance(exc, apsw.SQLError) and "no such" in str(exc):
        return f"{path}: the database lacks an expected table or column ({exc})"
    return f"{path}: {type(exc).__name__}: {exc}"
