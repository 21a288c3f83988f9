"""Messages posted by workers and the app's change probe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.message import Message

__all__ = ["QueryFailed", "QueryFinished", "StoreChanged"]


@dataclass
class QueryFinished(Message):
    """A store query run in a worker thread finished; ``deliver`` gets the result on the UI thread."""

    deliver: Callable[[Any], None]
    result: Any


@dataclass
class QueryFailed(Message):
    """A store query failed; ``error`` is one line fit for a notification."""

    error: str
    key: str


class StoreChanged(Message):
    """The database changed (``data_version`` moved) or time moved on enough to matter."""
