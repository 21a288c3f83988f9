"""Theme colours for Rich text (DataTable cells, option labels).

CSS uses ``$success`` and friends directly; Rich ``Text`` needs a concrete
style. Some theme variables are not plain colours (``text-muted`` is
``auto 60%``), so they map to an equivalent Rich style instead.
"""

from __future__ import annotations

from rich.color import Color, ColorParseError
from textual.app import App

__all__ = ["theme_style"]

_FALLBACKS = {"text-muted": "dim", "text-disabled": "dim", "text": ""}


def theme_style(app: App, name: str) -> str:
    """A Rich style string for the theme variable ``name`` (``success``, ``error`` …)."""
    value = app.theme_variables.get(name, "")
    try:
        Color.parse(value)
    except ColorParseError:
        return _FALLBACKS.get(name, "")
    return value
