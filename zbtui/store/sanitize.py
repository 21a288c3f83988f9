"""Turn untrusted build-log bytes into text that is safe to put on a terminal.

A build log is whatever the builder wrote to stdout and stderr, so it may hold
escape sequences that retitle the terminal, write the clipboard (OSC 52), move
the cursor over earlier lines to forge output, switch screens, or query the
terminal so that its answer is typed into the shell. Textual renders through
the real terminal, so none of that may reach it.

What survives, and nothing else:

* decoded text (UTF-8; anything that is not valid UTF-8 becomes U+FFFD),
* ``\\n`` and ``\\t``,
* SGR sequences ``ESC [ <digits ; :> m`` (colours and attributes), verbatim,
  unless ``keep_sgr`` is false.

Every other escape, control-string and control character is removed; Unicode
bidi override/isolate characters (and the Unicode line and paragraph
separators) are replaced by U+FFFD.

Two choices worth knowing:

* Raw bytes 0x80-0x9F are not valid UTF-8 on their own, so a lone byte 0x9B
  becomes U+FFFD followed by whatever came after it, shown as text. The C1
  *code points* U+0080-U+009F (encoded as two UTF-8 bytes) are treated as the
  8-bit controls they are: U+009B starts a CSI and U+009D an OSC, and the whole
  sequence is removed. 8-bit CSI is removed even when it is an SGR: only the
  7-bit form is kept verbatim.
* Carriage returns are resolved the way a terminal shows progress bars: a
  ``\\r`` that is followed by more output on the same line throws away what
  the line held so far (``"10%\\r50%\\n"`` becomes ``"50%\\n"``), while ``\\r``
  before ``\\n`` or at the end of the input changes nothing (``\\r\\n`` is
  ``\\n``). This works on the text the sanitizer has seen: a line whose start
  came before the first byte fed is not known, and a line longer than
  :data:`LINE_HOLD_CAP` characters is released in pieces, after which a ``\\r``
  only discards the part not yet released. To make this possible, and to give
  the same output however the bytes are split into chunks, :meth:`feed` holds
  back the current unfinished line; :meth:`peek` shows it and :meth:`flush`
  releases it.

Every ``\\n`` in the input is kept, including one that cuts short an escape
sequence, so line *n* of the output is line *n* of the file; the log viewer
relies on that to map line numbers to byte offsets.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

__all__ = [
    "LINE_HOLD_CAP",
    "MAX_SEQUENCE",
    "SGR_PARAM_CAP",
    "LogSanitizer",
    "printable",
    "sanitize_log",
]

#: Most characters an escape sequence or control string may swallow. A stray
#: ``ESC ]`` must not hide the rest of the log, so past this many characters
#: (or at a newline) an unterminated sequence is abandoned: what it swallowed is
#: dropped and the characters after it are shown as ordinary (sanitized) text.
MAX_SEQUENCE: Final = 4096

#: Longest parameter string of an SGR sequence that is kept. Real SGRs are a
#: few dozen characters; a longer one is removed like any other CSI.
SGR_PARAM_CAP: Final = 256

#: Most characters of an unfinished line :meth:`LogSanitizer.feed` holds back
#: (for ``\r`` handling) before releasing them, so memory stays bounded on a
#: log that is one enormous line.
LINE_HOLD_CAP: Final = 64 * 1024

REPLACEMENT: Final = "\ufffd"

# Parser states.
_GROUND: Final = 0
_ESC: Final = 1  # after ESC
_ESC_INTER: Final = 2  # after ESC and intermediate bytes, e.g. "ESC ("
_CSI: Final = 3  # inside a control sequence
_STRING: Final = 4  # inside OSC / DCS / SOS / PM / APC payload
_STRING_ESC: Final = 5  # ESC seen inside a control string (maybe ST)

# Characters the ground state cannot pass through as plain text. Tab (0x09) is
# plain text; everything else below 0x20, DEL and the C1 range needs a look, as
# do the bidi controls and the Unicode line/paragraph separators (Python's
# str.splitlines and some widgets break lines there, which would put the text
# out of step with the byte-level line index).
_SPECIAL: Final = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Characters that end (or may end) a control string's payload.
_STRING_STOP: Final = re.compile("[\x07\x1b\n\x9c]")
# Fast paths for whole sequences; they must accept exactly what the state
# machine accepts, so that output does not depend on where chunks were split.
_SGR: Final = re.compile("\x1b\\[([0-9;:]{0,%d})m" % SGR_PARAM_CAP)
_CSI_WHOLE: Final = re.compile("\x1b\\[[\x20-\x3f]{0,%d}[\x40-\x7e]" % MAX_SEQUENCE)

# 8-bit introducers of control strings: DCS, SOS, OSC, PM, APC.
_C1_STRING_STARTS: Final = frozenset("\x90\x98\x9d\x9e\x9f")
# 7-bit (after ESC) introducers of control strings: DCS, SOS, OSC, PM, APC.
_ESC_STRING_STARTS: Final = frozenset("PX]^_")
_SGR_PARAM_CHARS: Final = frozenset("0123456789;:")
_REPLACED: Final = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class LogSanitizer:
    """Streaming sanitizer: feed it chunks of bytes, get back safe text.

    Escape sequences and UTF-8 sequences may be split anywhere between chunks;
    the concatenation of every :meth:`feed` result and the final :meth:`flush`
    is the same however the input was split.

    Args:
        keep_sgr: Keep SGR (colour/attribute) sequences verbatim. When false
            they are removed like every other escape sequence.
    """

    __slots__ = (
        "_cr",
        "_csi_params",
        "_csi_sgr",
        "_decoder",
        "_keep_sgr",
        "_line",
        "_line_len",
        "_out",
        "_seq_len",
        "_state",
    )

    def __init__(self, *, keep_sgr: bool = True) -> None:
        self._keep_sgr = keep_sgr
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._state = _GROUND
        # Characters swallowed by the current escape sequence or string.
        self._seq_len = 0
        # Parameter characters of the current CSI, while it may still be an SGR.
        self._csi_params: list[str] = []
        self._csi_sgr = False
        # The unfinished line: items are text runs and whole SGR sequences.
        self._line: list[str] = []
        self._line_len = 0
        # A "\r" was seen and nothing has been output on the line since.
        self._cr = False
        # Output released by the current feed()/flush() call.
        self._out: list[str] = []

    def feed(self, data: bytes | bytearray | memoryview) -> str:
        """Sanitize the next chunk of the log.

        Args:
            data: The next bytes of the log, split anywhere.

        Returns:
            Safe text for every line completed so far (see the module notes:
            the unfinished last line is held back, up to
            :data:`LINE_HOLD_CAP` characters).
        """
        self._process(self._decoder.decode(data, False))
        return self._take()

    def flush(self) -> str:
        """End the input and return whatever was held back.

        An incomplete UTF-8 sequence at the end becomes U+FFFD; an incomplete
        escape sequence is dropped. The sanitizer is then reset and may be
        used for a new log.

        Returns:
            The rest of the safe text.
        """
        self._process(self._decoder.decode(b"", True))
        # An unfinished escape sequence or string is dropped, never shown.
        self._state = _GROUND
        self._commit_line()
        out = self._take()
        self._reset()
        return out

    def peek(self) -> str:
        """The held-back unfinished line, as it would look if the input ended now.

        Lets a viewer following a growing log show the last partial line
        without consuming it.
        """
        return "".join(self._line)

    # -- internals -----------------------------------------------------------

    def _reset(self) -> None:
        self._decoder.reset()
        self._state = _GROUND
        self._seq_len = 0
        self._csi_params.clear()
        self._csi_sgr = False
        self._line.clear()
        self._line_len = 0
        self._cr = False

    def _take(self) -> str:
        out = "".join(self._out)
        self._out.clear()
        return out

    def _process(self, s: str) -> None:
        i = 0
        n = len(s)
        while i < n:
            state = self._state
            if state == _GROUND:
                m = _SPECIAL.search(s, i)
                j = m.start() if m is not None else n
                if j > i:
                    self._emit_text(s[i:j])
                if m is None:
                    return
                c = s[j]
                if c == "\x1b":
                    # Whole sequences inside this chunk skip the per-character
                    # state machine; split ones fall through to it.
                    sgr = _SGR.match(s, j)
                    if sgr is not None:
                        if self._keep_sgr:
                            self._emit_sgr(sgr.group())
                        i = sgr.end()
                        continue
                    csi = _CSI_WHOLE.match(s, j)
                    if csi is not None:
                        i = csi.end()
                        continue
                i = j + 1
                self._ground_control(c)
            elif state == _STRING:
                i = self._skip_string(s, i, n)
            else:
                c = s[i]
                if self._step(c):
                    i += 1
                # else: the sequence was abandoned and c is looked at again in
                # the state _step switched to.

    def _ground_control(self, c: str) -> None:
        """Handle one character the ground state cannot print as it is."""
        if c == "\n":
            self._newline()
        elif c == "\r":
            self._cr = True
        elif c == "\x1b":
            self._state = _ESC
        elif c == "\x9b":
            self._start_csi(sgr_possible=False)
        elif c in _C1_STRING_STARTS:
            self._start_string()
        elif c in _REPLACED:
            # Visible marker instead of silent removal: the reader should see
            # that something was there (trojan-source style spoofing).
            self._emit_text(REPLACEMENT)
        # Any other C0 control, DEL or C1 control (including a lone ST) is
        # dropped.

    def _step(self, c: str) -> bool:
        """Advance the escape state machine by one character.

        Returns:
            True if ``c`` was consumed, False if the current sequence was
            abandoned and ``c`` must be processed again in the new state.
        """
        state = self._state
        o = ord(c)
        if state == _ESC:
            if c == "[":
                self._start_csi(sgr_possible=True)
            elif c in _ESC_STRING_STARTS:
                self._start_string()
            elif 0x20 <= o <= 0x2F:
                self._state = _ESC_INTER
                self._seq_len = 1
            elif 0x30 <= o <= 0x7E:
                # Two-character sequence (ESC c, ESC 7, ESC =, ESC \ ...): removed.
                self._state = _GROUND
            else:
                # ESC followed by a control or non-ASCII: the ESC is dropped and
                # the character handled normally (a second ESC starts anew).
                self._state = _GROUND
                return False
            return True
        if state == _ESC_INTER:
            if 0x20 <= o <= 0x2F and self._seq_len < MAX_SEQUENCE:
                self._seq_len += 1
            elif 0x30 <= o <= 0x7E:
                self._state = _GROUND
            else:
                self._state = _GROUND
                return False
            return True
        if state == _CSI:
            if 0x20 <= o <= 0x3F:
                if self._seq_len >= MAX_SEQUENCE:
                    self._state = _GROUND
                    return False
                self._seq_len += 1
                if self._csi_sgr:
                    if c in _SGR_PARAM_CHARS and self._seq_len <= SGR_PARAM_CAP:
                        self._csi_params.append(c)
                    else:
                        self._csi_sgr = False
                        self._csi_params.clear()
                return True
            self._state = _GROUND
            if 0x40 <= o <= 0x7E:
                if c == "m" and self._csi_sgr and self._keep_sgr:
                    self._emit_sgr("\x1b[" + "".join(self._csi_params) + "m")
                self._csi_params.clear()
                return True
            # A control or non-ASCII character cuts the sequence short.
            self._csi_params.clear()
            return False
        if state == _STRING_ESC:
            if c == "\\":
                self._state = _GROUND  # ST: the string is over.
                return True
            # ESC followed by anything else ends the string and begins a new
            # escape sequence, as in xterm.
            self._state = _ESC
            return False
        raise AssertionError(f"unexpected sanitizer state {state}")  # pragma: no cover

    def _skip_string(self, s: str, i: int, n: int) -> int:
        """Swallow control-string payload from ``s[i:]``; return the next index."""
        room = MAX_SEQUENCE - self._seq_len
        m = _STRING_STOP.search(s, i, min(n, i + room + 1))
        j = m.start() if m is not None else min(n, i + room + 1)
        if j - i > room:
            # Cap reached without a terminator: drop what was swallowed and go
            # back to showing text from here on.
            self._state = _GROUND
            return i + room
        self._seq_len += j - i
        if m is None:
            return j
        c = s[j]
        if c == "\x1b":
            self._state = _STRING_ESC
        else:
            # BEL or 8-bit ST ends the string (BEL is xterm's OSC terminator;
            # accepting it for DCS/APC too only ends those sooner). A newline
            # abandons it and is kept, so line numbers stay in step.
            self._state = _GROUND
            if c == "\n":
                self._newline()
        return j + 1

    def _start_csi(self, *, sgr_possible: bool) -> None:
        self._state = _CSI
        self._seq_len = 0
        self._csi_params.clear()
        self._csi_sgr = sgr_possible

    def _start_string(self) -> None:
        self._state = _STRING
        self._seq_len = 0

    def _emit_text(self, t: str) -> None:
        if self._cr:
            self._restart_line()
        while t:
            room = LINE_HOLD_CAP - self._line_len
            if len(t) < room:
                self._line.append(t)
                self._line_len += len(t)
                return
            # The held line reaches the cap: release it so memory stays bounded.
            self._line.append(t[:room])
            self._commit_line()
            t = t[room:]

    def _emit_sgr(self, seq: str) -> None:
        if self._cr:
            self._restart_line()
        self._line.append(seq)
        self._line_len += len(seq)
        if self._line_len >= LINE_HOLD_CAP:
            self._commit_line()

    def _restart_line(self) -> None:
        # Output after a lone "\r" overwrites the line: what the line held is
        # dropped (SGRs included; the colour state may be slightly off, which
        # is harmless).
        self._cr = False
        self._line.clear()
        self._line_len = 0

    def _newline(self) -> None:
        self._cr = False
        self._line.append("\n")
        self._commit_line()

    def _commit_line(self) -> None:
        self._out.extend(self._line)
        self._line.clear()
        self._line_len = 0


def sanitize_log(data: bytes | bytearray | memoryview, *, keep_sgr: bool = True) -> str:
    """Sanitize a complete piece of log in one go.

    Args:
        data: The bytes to sanitize.
        keep_sgr: Keep SGR colour sequences verbatim (default) or remove them.

    Returns:
        Safe text; see the module documentation for the rules.
    """
    s = LogSanitizer(keep_sgr=keep_sgr)
    return s.feed(data) + s.flush()


def printable(text: str) -> str:
    """Database text made inert for display: one line, nothing a terminal acts on.

    For values read from a database (paths, output names, signature formats,
    expand arguments, error texts), never for logs (see :class:`LogSanitizer`).
    A hostile binary cache chooses the format string of the signatures zb
    imports from it, and a damaged row can hold anything, so every character
    that is not printable (C0 and C1 controls, DEL, line and paragraph
    separators, bidi and other format characters, lone surrogates) becomes
    U+FFFD: visible, so the reader sees that something was there.

    Display only: the original string is what identifies the row (a path to
    open, an output name to look up).
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else REPLACEMENT for c in text)
