"""The app-wide line filter removes terminal-active characters from rendered text."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.color import Color

from zbtui.widgets.terminal_guard import InertText


def test_control_characters_are_removed_and_width_is_kept():
    hostile = "out\x1b]52;c;aGVsbG8=\x07\x9b2J\u202ename"
    segments = [Segment("plain "), Segment(hostile, Style(bold=True)), Segment("", None, [(1,)])]
    out = InertText().apply(segments, Color(0, 0, 0))
    assert out[0] is segments[0] and out[2] is segments[2]  # untouched: plain text and control segments
    assert out[1].text == "out]52;c;aGVsbG8=2Jname" and out[1].style == Style(bold=True)
    assert Segment.get_line_length(out) == Segment.get_line_length(segments)


def test_clean_lines_are_returned_as_they_are():
    segments = [Segment("glibc-2.39  27.3 MiB ✔ trusted")]
    assert InertText().apply(segments, Color(0, 0, 0)) is segments
