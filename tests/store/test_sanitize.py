"""Tests for zbtui.store.sanitize: hostile build-log bytes become safe text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zbtui.store.sanitize import (
    LINE_HOLD_CAP,
    MAX_SEQUENCE,
    LogSanitizer,
    sanitize_log,
)

SGR_RE = re.compile("\x1b\\[[0-9;:]*m")
# Every C0 control except \t and \n, DEL, and every C1 control.
FORBIDDEN_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def assert_safe(text: str) -> None:
    """The acceptance rule: only SGRs may hold ESC; no other controls at all."""
    without_sgr = SGR_RE.sub("", text)
    assert "\x1b" not in without_sgr, repr(text)
    assert FORBIDDEN_RE.search(text.replace("\x1b", "")) is None, repr(text)
    assert not any(c in BIDI for c in text), repr(text)


def feed_chunks(data: bytes, cuts: list[int], *, keep_sgr: bool = True) -> str:
    s = LogSanitizer(keep_sgr=keep_sgr)
    out = []
    prev = 0
    for cut in sorted(cuts):
        out.append(s.feed(data[prev:cut]))
        prev = cut
    out.append(s.feed(data[prev:]))
    out.append(s.flush())
    return "".join(out)


# A log with one of everything hostile, plus text that must survive around it.
HOSTILE = (
    b"start\n"
    b"clip\x1b]52;c;aGVsbG8=\x07board\n"
    b"title\x1b]0;pwned\x07-bel \x1b]2;pwned too\x1b\\-st\n"
    b"\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\ done\n"
    b"\x1b[2J\x1b[H\x1b[10Acursor\x1b[?1049halt\x1b[6n\n"
    b"\x1bPq#0;2;0;0;0#0~~@@vv\x1b\\dcs "
    b"\x1b_Gapc payload\x1b\\apc \x1bXsos\x1b\\ \x1b^pm\x1b\\end\n"
    b"bell\x07\x07 bs\x08 vt\x0b ff\x0c so\x0e si\x0f nul\x00 del\x7f\n"
    b"\x1bc\x1b7\x1b8\x1b=\x1b>\x1b(B\x1b)0\x1b#8two-byte\n"
    b"raw c1 \x9b31m \x9d0;t\x07 \x90dcs\n"
    b"utf8 c1 \xc2\x9b2J\xc2\x9d0;title\xc2\x9c "
    b"\xc2\x90dcs\xc2\x9c \xc2\x85nel \xc2\x9fapc\xc2\x9c.\n"
    b"bidi \xe2\x80\xaeevil\xe2\x80\xac \xe2\x81\xa6iso\xe2\x81\xa9\n"
    b"\x1b[1;31mred\x1b[0m \x1b[38:2::255:0:0mtrue\x1b[m\n"
    b"bad utf8 \xff\xfe \xe2\x82 caf\xc3\xa9 \xf0\x9f\x98\x80\n"
    b"progress 10%\r50%\r100%\r\n"
    b"crlf\r\nlast"
)

HOSTILE_EXPECTED = (
    "start\n"
    "clipboard\n"
    "title-bel -st\n"
    "click me done\n"
    "cursoralt\n"
    "dcs apc  end\n"
    "bell bs vt ff so si nul del\n"
    "two-byte\n"
    "raw c1 \ufffd31m \ufffd0;t \ufffddcs\n"
    "utf8 c1   nel .\n"
    "bidi \ufffdevil\ufffd \ufffdiso\ufffd\n"
    "\x1b[1;31mred\x1b[0m \x1b[38:2::255:0:0mtrue\x1b[m\n"
    "bad utf8 \ufffd\ufffd \ufffd caf\u00e9 \U0001f600\n"
    "100%\n"
    "crlf\n"
    "last"
)


def test_hostile_sample_exact_output() -> None:
    out = sanitize_log(HOSTILE)
    assert out == HOSTILE_EXPECTED
    assert_safe(out)


def test_hostile_sample_without_sgr() -> None:
    out = sanitize_log(HOSTILE, keep_sgr=False)
    assert out == SGR_RE.sub("", HOSTILE_EXPECTED)
    assert "\x1b" not in out
    assert_safe(out)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # OSC 52 clipboard write: payload gone, text around it kept.
        (b"a\x1b]52;c;aGVsbG8=\x07b", "ab"),
        (b"a\x1b]52;c;aGVsbG8=\x1b\\b", "ab"),
        # Titles, BEL and ST terminated.
        (b"\x1b]0;evil title\x07x", "x"),
        (b"\x1b]2;evil title\x1b\\x", "x"),
        # OSC 8 hyperlink: the link text stays, the URL goes.
        (b"\x1b]8;;http://evil/\x07link\x1b]8;;\x07", "link"),
        # CSI cursor movement, erase, alternate screen, device status report.
        (b"\x1b[2J\x1b[H\x1b[10Ax", "x"),
        (b"\x1b[?1049hx\x1b[?1049l", "x"),
        (b"\x1b[6n\x1b[5n\x1b[cx", "x"),
        (b"\x1b[1;2r\x1b[3Sx\x1b[K", "x"),
        # DCS, APC, SOS, PM.
        (b"\x1bP1$r0m\x1b\\x", "x"),
        (b"\x1b_Gf=100;AAAA\x1b\\x", "x"),
        (b"\x1bXsos\x1b\\\x1b^pm\x1b\\x", "x"),
        # Bells and other C0 controls.
        (b"a\x07b\x08c\x00d\x0be\x0cf\x0eg\x0fh\x7fi\x1fj", "abcdefghij"),
        # Two-byte escapes and charset designations.
        (b"\x1bc\x1b7\x1b8\x1b=\x1b>\x1bD\x1bM\x1b(B\x1b(0\x1b%Gx", "x"),
        # 8-bit C1 as raw bytes is not UTF-8: each byte is a visible U+FFFD.
        (b"\x9b2J", "\ufffd2J"),
        (b"\x9d0;t\x07x", "\ufffd0;tx"),
        # C1 code points encoded in UTF-8 are real 8-bit controls: removed
        # with their whole sequence (8-bit CSI is removed even as SGR).
        ("\u009b2Jx".encode(), "x"),
        ("\u009b31mx".encode(), "x"),
        ("\u009d0;title\u0007x".encode(), "x"),
        ("\u009d52;c;aGk=\u009cx".encode(), "x"),
        ("\u0090dcs\u009cx\u0098sos\u009cy\u009epm\u009cz\u009fapc\u009c!".encode(), "xyz!"),
        ("a\u0085b\u0084c\u008ed\u009ce".encode(), "abcde"),
        # Bidi overrides and isolates are replaced, not silently dropped.
        ("\u202aa\u202bb\u202cc\u202dd\u202ee".encode(), "\ufffda\ufffdb\ufffdc\ufffdd\ufffde"),
        ("\u2066a\u2067b\u2068c\u2069".encode(), "\ufffda\ufffdb\ufffdc\ufffd"),
        # Line/paragraph separators would split lines out of step with "\n".
        ("a\u2028b\u2029c".encode(), "a\ufffdb\ufffdc"),
        # SGR kept verbatim, colon sub-parameters too.
        (b"\x1b[1;31mred\x1b[0m", "\x1b[1;31mred\x1b[0m"),
        (b"\x1b[38:5:208mo\x1b[m", "\x1b[38:5:208mo\x1b[m"),
        # ... but private-marker or intermediate "m" sequences are not SGR.
        (b"\x1b[?1mx\x1b[>4;2m\x1b[1 m", "x"),
        # Invalid UTF-8 becomes U+FFFD; valid multi-byte text survives.
        (b"\xff\xc3\x28 \xe2\x82\xac\xed\xa0\x80", "\ufffd\ufffd( \u20ac\ufffd\ufffd\ufffd"),
        # Tabs and newlines survive; CRLF becomes LF.
        (b"a\tb\r\nc\n", "a\tb\nc\n"),
        # Progress bars: the line restarts at a lone CR.
        (b"10%\r20%\r30%\ndone", "30%\ndone"),
        (b"abc\r\r\n", "abc\n"),
        (b"abc\r", "abc"),
        (b"abc\r\x1b[Kxy\n", "xy\n"),
        # A newline cuts short any escape sequence and is kept.
        (b"a\x1b]0;title\nb", "a\nb"),
        (b"a\x1b[12\nb", "a\nb"),
        (b"a\x1b\nb", "a\nb"),
        (b"a\x1bP\x1b\nb", "a\nb"),
        # ESC ESC: the first is dropped, the second starts the sequence.
        (b"\x1b\x1b[31mx", "\x1b[31mx"),
        # ESC inside a string that is not ST starts a new sequence.
        (b"\x1b]0;t\x1b[1mx", "\x1b[1mx"),
        # A lone ST is removed.
        (b"a\x1b\\b", "ab"),
        # Incomplete sequences at the end are dropped.
        (b"a\x1b", "a"),
        (b"a\x1b[1;3", "a"),
        (b"a\x1b]0;ti", "a"),
        (b"a\xe2\x82", "a\ufffd"),
    ],
)
def test_cases(data: bytes, expected: str) -> None:
    out = sanitize_log(data)
    assert out == expected
    assert_safe(out)


def test_keep_sgr_false_strips_colour() -> None:
    assert sanitize_log(b"\x1b[1;31mred\x1b[0m", keep_sgr=False) == "red"
    assert sanitize_log(b"\x1b[38:2::1:2:3mx", keep_sgr=False) == "x"


def test_overlong_sgr_is_removed() -> None:
    long_sgr = b"\x1b[" + b"1;" * 200 + b"m"
    assert sanitize_log(long_sgr + b"x") == "x"


@pytest.mark.parametrize("introducer", [b"\x1b]", b"\x1bP", b"\x1b_", "\u009d".encode()])
def test_unterminated_string_is_capped(introducer: bytes) -> None:
    payload = b"A" * MAX_SEQUENCE
    data = introducer + b"0;" + payload + b"tail\nnext"
    out = sanitize_log(data)
    # The first MAX_SEQUENCE characters after the introducer are swallowed and
    # dropped; what comes after is ordinary text again.
    assert out == "AA" + "tail\nnext"
    assert_safe(out)
    # The same split into small chunks.
    assert feed_chunks(data, list(range(0, len(data), 7))) == out


def test_unterminated_string_ends_at_newline() -> None:
    assert sanitize_log(b"x\x1b]52;c;" + b"QUFB" * 100 + b"\nvisible") == "x\nvisible"


def test_unterminated_csi_is_capped() -> None:
    data = b"\x1b[" + b"1" * (MAX_SEQUENCE + 3) + b"m!"
    assert sanitize_log(data) == "111m!"


def test_sanitizer_memory_is_bounded_for_one_huge_line() -> None:
    s = LogSanitizer()
    released = 0
    for _ in range(40):
        released += len(s.feed(b"x" * 10_000))
        # The held-back line never exceeds the cap.
        assert len(s.peek()) < LINE_HOLD_CAP
    released += len(s.flush())
    assert released == 400_000


def test_feed_holds_back_partial_line_until_flush() -> None:
    s = LogSanitizer()
    assert s.feed(b"one\ntw") == "one\n"
    assert s.peek() == "tw"
    assert s.feed(b"o\nthr") == "two\n"
    assert s.feed(b"\x1b]0;x") == ""
    assert s.flush() == "thr"
    # flush() resets: the sanitizer can be reused, no state leaks over.
    assert s.feed(b"\x1b[31mnew\n") == "\x1b[31mnew\n"
    assert s.flush() == ""


def test_every_split_point_matches_one_shot() -> None:
    expected = sanitize_log(HOSTILE)
    for cut in range(len(HOSTILE) + 1):
        assert feed_chunks(HOSTILE, [cut]) == expected, cut
    # Two cuts close together (sequences split in three).
    for cut in range(len(HOSTILE) - 2):
        assert feed_chunks(HOSTILE, [cut, cut + 2]) == expected, cut
    # Byte at a time.
    assert feed_chunks(HOSTILE, list(range(len(HOSTILE)))) == expected
    expected_plain = sanitize_log(HOSTILE, keep_sgr=False)
    for cut in range(len(HOSTILE) + 1):
        assert feed_chunks(HOSTILE, [cut], keep_sgr=False) == expected_plain, cut


# Hypothesis: bytes built from escape-ish fragments, so that the interesting
# paths are reached far more often than with uniformly random bytes.
FRAGMENTS = [
    b"\x1b", b"[", b"]", b"P", b"_", b"^", b"X", b"\\", b"\x07", b"\x9b", b"\x9c", b"\x9d",
    b"\xc2\x9b", b"\xc2\x9c", b"\xc2\x9d", b"\xc2\x90", b"\xc2\x85", b"\r", b"\n", b"\r\n",
    b"\t", b"\x00", b"\x7f", b"m", b"1;31", b"38:2:1", b"?", b"0;", b"52;c;", b"A", b"(",
    b"\xe2\x80\xae", b"\xe2\x81\xa9", b"\xe2\x80\xa8", b"\xe2\x82", b"\xac", b"\xff", b"\xf0\x9f",
]
log_bytes = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=6)), max_size=60
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=200), log_bytes), keep_sgr=st.booleans())
def test_property_output_is_safe(data: bytes, keep_sgr: bool) -> None:
    out = sanitize_log(data, keep_sgr=keep_sgr)
    assert_safe(out)
    if not keep_sgr:
        assert "\x1b" not in out
    # Every input newline is kept, so line numbers match the byte-level index.
    assert out.count("\n") == data.count(b"\n")


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(st.binary(max_size=200), log_bytes),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
    keep_sgr=st.booleans(),
)
def test_property_chunked_equals_one_shot(data: bytes, cuts: list[int], keep_sgr: bool) -> None:
    cuts = [c for c in cuts if c <= len(data)]
    assert feed_chunks(data, cuts, keep_sgr=keep_sgr) == sanitize_log(data, keep_sgr=keep_sgr)
