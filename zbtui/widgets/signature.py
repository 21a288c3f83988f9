"""Signature status badges: one text and one theme colour per verification status.

A badge is Rich ``Text`` (it goes into option lists, tree labels and table
cells), coloured from the running theme's variables so every theme works.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.text import Text
from textual.app import App

from ..store.models import PathSignature, SignatureCheck
from .theme import theme_style

__all__ = [
    "PROBLEM_STATUSES",
    "STATUS_ORDER",
    "Badge",
    "badge",
    "badge_for",
    "key_label",
    "signature_summary",
    "status_counts",
]

KEY_PREVIEW_CHARS = 12
"""Base64 characters of a public key shown: 72 bits tell keys apart at a glance."""


@dataclass(frozen=True, slots=True)
class Badge:
    """How one status looks.

    Attributes:
        symbol: One character, also used in summaries ("2 ✔ 1 ✘").
        text: The badge text after the symbol.
        colour: The theme variable that colours it.
        meaning: One sentence for help and tooltips.
    """

    symbol: str
    text: str
    colour: str
    meaning: str


BADGES: dict[str, Badge] = {
    "trusted": Badge(
        "✔", "trusted", "success", "verifies, and the key is in the trust configuration"
    ),
    # A lighter tick than trusted's, so summaries ("1 ✔ 1 ✓") tell them apart without colour.
    "valid-untrusted": Badge(
        "✓", "valid · untrusted", "warning", "verifies, but the key is not one you trust"
    ),
    "invalid": Badge(
        "✘", "invalid", "error", "does not verify: the record or the signature was altered"
    ),
    "unsupported": Badge(
        "?", "unsupported", "text-muted", "a signature format zb does not know (ignored)"
    ),
    "malformed": Badge("!", "malformed", "error", "the key or signature bytes are unusable"),
    "unknown-key": Badge(
        "?", "unknown key", "warning", "signed by a key name no configuration knows"
    ),
}
"""Every ``SigStatus`` value; anything else falls back to a neutral badge."""

PROBLEM_STATUSES = frozenset({"invalid", "malformed", "unsupported", "unknown-key"})
"""Verdicts worth a look (valid-untrusted is a trust choice, not a problem)."""

STATUS_ORDER: tuple[str, ...] = tuple(BADGES)
"""Statuses from best to worst-understood, the order summaries list them in."""


def badge_for(status: str) -> Badge:
    """The badge of a status, or a neutral one for a value this version does not know."""
    return BADGES.get(status, Badge("?", status, "text-muted", "unrecognised status"))


def badge(status: str, app: App, *, detail: str | None = None, width: int = 0) -> Text:
    """A coloured badge such as ``✔ trusted``.

    Args:
        status: A ``SigStatus`` value.
        app: The app, whose theme gives the colours.
        detail: Extra words in brackets, e.g. the unsupported format name.
        width: Pad the badge to this many cells so keys line up in a column.
    """
    look = badge_for(status)
    label = f"{look.symbol} {look.text}"
    if detail:
        label += f" ({detail})"
    text = Text(label, style=f"bold {theme_style(app, look.colour)}".strip())
    if width and text.cell_len < width:
        text.append(" " * (width - text.cell_len))
    return text


def key_label(check: SignatureCheck | PathSignature) -> str:
    """Who signed: the Nix key name, the known label, or ``ed25519:HxuaTlc9y3Gb…``."""
    if check.key_name:
        return check.key_name
    public_key = getattr(check, "public_key", None)
    if not public_key:
        return "no key"
    fmt = getattr(check, "format", None) or "?"
    short = (
        public_key if len(public_key) <= KEY_PREVIEW_CHARS else public_key[:KEY_PREVIEW_CHARS] + "…"
    )
    return f"{fmt}:{short}"


def status_counts(checks: Iterable[SignatureCheck]) -> Counter[str]:
    """Signature rows per status, duplicates counted once per row they occupy."""
    counts: Counter[str] = Counter()
    for check in checks:
        counts[check.status] += check.count
    return counts


def signature_summary(counts: Mapping[str, int], app: App, *, words: bool = False) -> Text:
    """``2 ✔ 1 ✘`` (or ``2 trusted · 1 invalid`` with ``words``), coloured per status."""
    text = Text()
    ordered = [s for s in STATUS_ORDER if counts.get(s)] + sorted(
        s for s in counts if s not in BADGES and counts[s]
    )
    for status in ordered:
        look = badge_for(status)
        if text:
            text.append(", " if words else " ")
        label = f"{counts[status]} {look.text}" if words else f"{counts[status]} {look.symbol}"
        text.append(label, style=theme_style(app, look.colour))
    if not text:
        text.append("unsigned", style="dim")
    return text
