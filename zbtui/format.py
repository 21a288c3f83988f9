"""Text formatting shared by screens: sizes, times, durations, short paths.

Pure functions (no Textual), so they are trivially testable and used the same
way everywhere.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import humanize

from .store.formats import split_store_path

__all__ = ["ago", "duration", "exact_size", "human_size", "short_path", "timestamp"]


def human_size(size: int | None) -> str:
    """``1.2 MiB`` (binary units, as Nix and zb users read sizes)."""
    if size is None:
        return "—"
    return humanize.naturalsize(size, binary=True, format="%.1f")


def exact_size(size: int | None) -> str:
    """``1,234,567 bytes``."""
    if size is None:
        return "—"
    return f"{size:,} bytes"


def ago(ms: int | None, now_ms: int) -> str:
    """``3 minutes ago`` (or ``in 2 seconds`` for a clock skewed ahead)."""
    if ms is None:
        return "—"
    return humanize.naturaltime(timedelta(milliseconds=now_ms - ms))


def duration(ms: int | None) -> str:
    """A compact duration: ``850 ms``, ``12.3 s``, ``4 min 05 s``, ``2 h 03 min``."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def timestamp(ms: int | None, *, utc: bool = False) -> str:
    """``2026-11-23 14:05:12`` in local time (or UTC)."""
    if ms is None:
        return "—"
    if utc:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000))


def short_path(path: str, *, digest_chars: int = 7) -> str:
    """``s66mzxp…-hello-2.12.1``: the name, with enough digest to tell paths apart."""
    _dir, digest, name = split_store_path(path)
    if not digest:
        return name
    return f"{digest[:digest_chars]}…-{name}"
