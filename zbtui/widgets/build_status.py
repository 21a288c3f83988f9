"""Status icons, words and colours of builds and build results.

Shared by the builds list, the build detail and the overview, so a status
looks the same everywhere. zb's web UI uses emoji (🔨 ✅ ❌ 💣), which are
double-width and missing from many terminal fonts; these are single-width
symbols (with an ASCII set for terminals that lack even those), always
followed by the word, so colour is never the only signal.

Colours come from the running theme (``App.theme_variables``), never from
literals, so every Textual theme works; the mapping matches the global
``.-success .-fail .-error .-active .-orphaned`` classes in ``styles/app.tcss``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from ..format import short_path
from ..store.models import BuildStatus

if TYPE_CHECKING:
    from textual.app import App

__all__ = [
    "ASCII_ICONS",
    "ICONS",
    "STATUS_CLASSES",
    "WORDS",
    "result_status",
    "short_build_id",
    "status_class",
    "status_icon",
    "status_style",
    "status_text",
    "status_word",
]

ICONS: Mapping[str, str] = {
    BuildStatus.SUCCESS: "✔",
    BuildStatus.FAIL: "✘",
    BuildStatus.ERROR: "‼",
    BuildStatus.ACTIVE: "●",
    BuildStatus.ORPHANED: "⚠",
}
"""Single-width symbols (text presentation, present in common terminal fonts)."""

ASCII_ICONS: Mapping[str, str] = {
    BuildStatus.SUCCESS: "+",
    BuildStatus.FAIL: "x",
    BuildStatus.ERROR: "!",
    BuildStatus.ACTIVE: "*",
    BuildStatus.ORPHANED: "?",
}
"""Fallbacks for terminals or fonts without the symbols above."""

WORDS: Mapping[str, str] = {
    BuildStatus.SUCCESS: "success",
    BuildStatus.FAIL: "failed",
    BuildStatus.ERROR: "error",
    BuildStatus.ACTIVE: "running",
    BuildStatus.ORPHANED: "orphaned",
}
"""What each status is called on screen (zb's own words: fail → "Failed",
active → "In Progress"; "running" is shorter and as clear)."""

_THEME_COLOURS: Mapping[str, str] = {
    BuildStatus.SUCCESS: "success",
    BuildStatus.FAIL: "error",
    BuildStatus.ERROR: "error",
    BuildStatus.ACTIVE: "accent",
    BuildStatus.ORPHANED: "warning",
}
"""Theme variable giving each status its colour (as in ``styles/app.tcss``)."""

# Bold marks the two states that need attention beyond their colour: an
# internal error (not the package's fault) and an orphan (a crashed server).
_BOLD = frozenset({BuildStatus.ERROR, BuildStatus.ORPHANED})

STATUS_CLASSES: Mapping[str, str] = {status: f"-{status.value}" for status in BuildStatus}
"""CSS class of each status (``-success`` …), for widgets styled by ``.tcss``."""


def _known(status: str) -> str | None:
    try:
        return BuildStatus(status)
    except ValueError:
        return None


def status_icon(status: str, *, ascii_only: bool = False) -> str:
    """The one-cell symbol of a status (``?`` for a value zb never writes)."""
    known = _known(status)
    if known is None:
        return "?"
    return (ASCII_ICONS if ascii_only else ICONS)[known]


def status_word(status: str) -> str:
    """The word shown for a status; an unknown stored value is shown as it is."""
    known = _known(status)
    return WORDS[known] if known is not None else status


def status_class(status: str) -> str:
    """The CSS class for a status (``-success`` …), or ``""`` if unknown."""
    known = _known(status)
    return STATUS_CLASSES[known] if known is not None else ""


def status_style(status: str, theme_variables: Mapping[str, str]) -> Style:
    """The Rich style of a status in the current theme.

    Args:
        status: A `BuildStatus` value (or any string: unknown ones are unstyled).
        theme_variables: ``app.theme_variables`` of the running app.
    """
    known = _known(status)
    if known is None:
        return Style()
    colour = theme_variables.get(_THEME_COLOURS[known])
    return Style(color=colour, bold=known in _BOLD)


def status_text(
    status: str,
    app_or_variables: App | Mapping[str, str],
    *,
    word: bool = True,
    label: str | None = None,
    ascii_only: bool = False,
) -> Text:
    """``✔ success`` as styled Rich text, e.g. for a DataTable cell.

    Args:
        status: A `BuildStatus` value.
        app_or_variables: The app (its theme is used) or its ``theme_variables``.
        word: Follow the icon with the word.
        label: A word to show instead of the usual one.
        ascii_only: Use the ASCII icon set.
    """
    variables: Mapping[str, str] = (
        app_or_variables
        if isinstance(app_or_variables, Mapping)
        else app_or_variables.theme_variables
    )
    icon = status_icon(status, ascii_only=ascii_only)
    content = icon
    if word:
        content += " " + (label if label is not None else status_word(status))
    return Text(content, style=status_style(status, variables), no_wrap=True)


def result_status(stored: str, build_status: str) -> tuple[str, str]:
    """How to show a build result's stored status, given its build's status.

    zb never finishes the results of a build whose server died: they stay
    ``active`` forever (spec §1.8). Shown as "running" they would mislead, so
    in an orphaned build they are shown as orphaned, "left active".

    Returns:
        (status to style it as, word to show).
    """
    if stored == BuildStatus.ACTIVE and build_status == BuildStatus.ORPHANED:
        return BuildStatus.ORPHANED, "left active"
    return stored, status_word(stored)


def short_build_id(build_id: str) -> str:
    """``01a2088f…7ec9``: a build id short enough for a narrow column.

    zb's build ids are UUIDv7, whose first 8 digits are a timestamp: builds
    started within about a minute share them, so the last 4 digits (random)
    are kept too.
    """
    if "/" in build_id or "\\" in build_id:
        # A Nix "build" is identified by its derivation path: show its name.
        return short_path(build_id)
    if len(build_id) <= 13:
        return build_id
    return f"{build_id[:8]}…{build_id[-4:]}"
