"""The last line of defence: nothing a terminal acts on leaves the app as text.

Screens show strings read from databases nobody here wrote: paths, output
names, signature formats from a binary cache, expand arguments, error texts.
Logs go through the sanitizer; every other string is shown as it is. A
control character in one (an OSC 52 clipboard write, a title change, a
cursor move) would reach the user's terminal. This line filter runs on every
rendered line, after all widgets, and removes such characters from text
segments. Removing keeps the layout: control and format characters take no
cells. Rich's own control segments (cursor placement) are left alone.
"""

from __future__ import annotations

import re

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

__all__ = ["InertText", "UNSAFE"]

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")
"""C0 and C1 controls, DEL, zero-width and bidi format characters, line and
paragraph separators, lone surrogates."""


class InertText(LineFilter):
    """Remove terminal-active characters from every rendered text segment."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        if all(segment.control or segment.text.isprintable() for segment in segments):
            return segments  # the common case: nothing to do, nothing copied
        return [
            segment
            if segment.control or segment.text.isprintable()
            else Segment(UNSAFE.sub("", segment.text), segment.style, segment.control)
            for segment in segments
        ]
