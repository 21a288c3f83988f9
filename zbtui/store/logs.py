"""Locate build logs and read them by byte offset, never whole.

Build logs can be gigabytes (a chatty test suite, a runaway loop) and may
still be growing while a build runs, so everything here works on byte ranges:
the viewer asks for the bytes it shows, an index of line starts built in
chunks, or a search that scans in chunks. No call reads more than
:data:`MAX_READ` bytes at once, or holds a whole log in memory.

Layouts:

* zb: ``<logDir>/<uuid[0:4]>/<uuid>/<drv name without .drv>.txt``.
* Nix: ``<logDir>/drvs/<first 2 chars of drv base name>/<rest>[.bz2]``
  (``logDir`` is usually ``/nix/var/log/nix``).

Nix compresses finished logs with bzip2, which cannot be read at an offset;
such a log is decompressed once, streaming, into a private temporary file
(created in :func:`tempfile.gettempdir`, so honour ``TMPDIR`` if ``/tmp`` is a
RAM disk) that is deleted when the :class:`LogFile` is closed.
"""

from __future__ import annotations

import bz2
import os
import re
import stat
import tempfile
import threading
import uuid
from array import array
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Final

from zbtui.store.errors import StoreError

__all__ = [
    "DEFAULT_MAX_UNCOMPRESSED",
    "MAX_READ",
    "LogError",
    "LogFile",
    "LogInfo",
    "find_nix_log",
    "nix_log_candidates",
    "open_log",
    "stat_log",
    "zb_log_path",
]

#: Most bytes a single :meth:`LogFile.read` or :meth:`LogFile.tail` returns.
MAX_READ: Final = 4 << 20

#: Most bytes a ``.bz2`` log is decompressed to. bzip2 can expand a small
#: hostile file enormously; past this the log is shown truncated
#: (:attr:`LogFile.truncated`) rather than filling the disk.
DEFAULT_MAX_UNCOMPRESSED: Final = 1 << 30

_CHUNK: Final = 1 << 20
_BZ2_MAGIC: Final = b"BZh"
_HAS_PREAD: Final = hasattr(os, "pread")


class LogError(StoreError):
    """A build log cannot be opened or read; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class LogInfo:
    """What is known about a build log without reading it.

    Attributes:
        path: The file looked for, or None when there is no file to look for
            (e.g. the result was reused rather than built).
        exists: A regular file is at ``path``.
        size: Bytes of uncompressed content when known: the current size of a
            plain file (it may still grow), None for a ``.bz2`` log until it is
            decompressed.
        compressed: The file is bzip2-compressed (Nix's ``.bz2`` logs).
        error: Why the log cannot be shown, one line; None when it can.
    """

    path: str | None
    exists: bool
    size: int | None = None
    compressed: bool = False
    error: str | None = None

    @property
    def missing(self) -> bool:
        """True when there is no readable log to show (see :attr:`error`)."""
        return not self.exists or self.error is not None

    @classmethod
    def unavailable(cls, reason: str, path: str | None = None) -> LogInfo:
        """A log that cannot exist, e.g. ``"no log file: the result was reused, not built"``."""
        return cls(path=path, exists=False, error=reason)


# -- locating -----------------------------------------------------------------


def _drv_base(drv_path: str) -> str:
    """The last component of a store path, POSIX or Windows style."""
    # zb stores on Windows live at C:\zb\store; a database copied from one may
    # be browsed elsewhere, so split on both separators whatever the OS.
    base = re.split(r"[/\\]", drv_path)[-1]
    if not base:
        raise ValueError(f"not a derivation path: {drv_path!r}")
    return base


def zb_log_path(log_dir: str, build_id: str | bytes, drv_path: str) -> str:
    """Where zb keeps the log of one derivation of one build.

    Args:
        log_dir: zb's log directory.
        build_id: The build's UUID, in any form :class:`uuid.UUID` accepts, or
            its 16 raw bytes (zb's database stores it as a blob); the path
            uses the canonical lowercase 36-character form.
        drv_path: The derivation's store path (POSIX or Windows style).

    Returns:
        ``<log_dir>/<uuid[0:4]>/<uuid>/<drv base name without .drv>.txt``.

    Raises:
        ValueError: ``build_id`` is not a UUID or ``drv_path`` has no base name.
    """
    try:
        if isinstance(build_id, bytes):
            uid = str(uuid.UUID(bytes=build_id))
        else:
            uid = str(uuid.UUID(build_id))
    except ValueError:
        raise ValueError(f"not a build id (UUID): {build_id!r}") from None
    name = _drv_base(drv_path).removesuffix(".drv")
    return os.path.join(log_dir, uid[:4], uid, name + ".txt")


def nix_log_candidates(log_dir: str, drv_path: str) -> list[str]:
    """Where Nix may keep a derivation's log, compressed candidate first.

    Args:
        log_dir: Nix's log directory, usually ``/nix/var/log/nix``.
        drv_path: The derivation's store path.

    Returns:
        ``[<log_dir>/drvs/<2 chars>/<rest>.bz2, <log_dir>/drvs/<2 chars>/<rest>]``.

    Raises:
        ValueError: The base name is too short to be a store path.
    """
    base = _drv_base(drv_path)
    if len(base) < 3:
        raise ValueError(f"not a derivation path: {drv_path!r}")
    plain = os.path.join(log_dir, "drvs", base[:2], base[2:])
    return [plain + ".bz2", plain]


def find_nix_log(log_dir: str, drv_path: str) -> LogInfo:
    """Look for a derivation's Nix log in both of its possible places.

    Args:
        log_dir: Nix's log directory.
        drv_path: The derivation's store path.

    Returns:
        The :class:`LogInfo` of the first candidate that is there; otherwise
        the one that best explains why there is none.
    """
    candidates = nix_log_candidates(log_dir, drv_path)
    results = [_stat_log(path) for path in candidates]
    for info, _absent in results:
        if info.exists:
            return info
    for info, absent in results:
        if not absent:
            # Something is there but unusable (a directory, permissions...):
            # that says more than "not found".
            return info
    compressed, plain = candidates
    # Both are absent: one message naming both (and any missing directory).
    reason = _absent_reason(plain).replace(plain, plain + "(.bz2)", 1)
    return LogInfo(path=compressed, exists=False, compressed=True, error=reason)


# -- inspecting -----------------------------------------------------------------


def _ancestors(path: str) -> list[str]:
    """The directories above ``path``, outermost first."""
    out: list[str] = []
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        out.append(parent)
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    out.reverse()
    return out


def _absent_reason(path: str) -> str:
    for directory in _ancestors(path):
        if not os.path.isdir(directory):
            if os.path.lexists(directory):
                return f"no log file at {path} ({directory} is not a directory)"
            return f"no log file at {path} (directory {directory} does not exist)"
    return f"no log file at {path}"


def _denied_reason(path: str) -> str:
    for directory in _ancestors(path):
        if os.path.isdir(directory) and not os.access(directory, os.X_OK | os.R_OK):
            return f"log directory {directory} is not readable (permission denied)"
    return f"log file {path} is not readable (permission denied)"


def _stat_log(path: str) -> tuple[LogInfo, bool]:
    """:func:`stat_log`, plus whether the failure was plain absence."""
    compressed = path.endswith(".bz2")

    def fail(reason: str, *, exists: bool = False, size: int | None = None) -> LogInfo:
        return LogInfo(path=path, exists=exists, size=size, compressed=compressed, error=reason)

    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return fail(_absent_reason(path)), True
    except PermissionError:
        return fail(_denied_reason(path)), False
    except (OSError, ValueError) as exc:
        return fail(f"cannot look at log file {path}: {_strerror(exc)}"), False
    if stat.S_ISDIR(st.st_mode):
        return fail(f"{path} is a directory, not a log file"), False
    if not stat.S_ISREG(st.st_mode):
        # Opening a FIFO would block and a device may never end.
        return fail(f"{path} is not a regular file"), False
    size = None if compressed else st.st_size
    try:
        fd = _open_fd(path)
    except PermissionError:
        reason = f"log file {path} is not readable (permission denied)"
        return fail(reason, exists=True, size=size), False
    except OSError as exc:
        reason = f"cannot open log file {path}: {_strerror(exc)}"
        return fail(reason, exists=True, size=size), False
    os.close(fd)
    return LogInfo(path=path, exists=True, size=size, compressed=compressed), False


def stat_log(path: str) -> LogInfo:
    """Describe the log file at ``path`` without reading it; never raises.

    Args:
        path: The log file to look at.

    Returns:
        A :class:`LogInfo`; when the log cannot be shown, ``error`` says why
        (missing file or directory, permission denied, a directory or other
        non-regular file at that path).
    """
    return _stat_log(path)[0]


def _strerror(exc: BaseException) -> str:
    """The OS's reason, lower-cased to sit inside a sentence."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    return str(exc)


def _open_fd(path: str) -> int:
    # O_NONBLOCK so that a FIFO swapped in after the stat cannot hang us; it
    # has no effect on regular files. O_BINARY matters on Windows only.
    flags = (
        os.O_RDONLY
        | getattr(os, "O_NONBLOCK", 0)
        | getattr(os, "O_CLOEXEC", 0)
        | getattr(os, "O_BINARY", 0)
    )
    return os.open(path, flags)


def _open_regular(path: str) -> int:
    """Open ``path`` for reading, insisting on a regular file; raise LogError."""
    try:
        fd = _open_fd(path)
    except (OSError, ValueError):  # ValueError: a NUL in the path.
        # stat_log words every failure; the fallback covers a file that
        # appeared between the two calls.
        info = stat_log(path)
        raise LogError(info.error or f"cannot open log file {path}") from None
    try:
        st = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise LogError(f"cannot open log file {path}: {_strerror(exc)}") from None
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise LogError(f"{path} is a directory, not a log file")
        raise LogError(f"{path} is not a regular file")
    return fd


# -- reading --------------------------------------------------------------------


def _decompress_bz2(src: IO[bytes], dst: IO[bytes], path: str, limit: int) -> tuple[int, bool]:
    """Stream bzip2 ``src`` into ``dst``, 1 MiB at a time in and out.

    Returns:
        (bytes written, truncated): truncated when the input ends inside a
        stream (a log still being written, or cut short) or ``limit`` was hit.

    Raises:
        LogError: The data is not bzip2 or is corrupt.
    """
    head = src.read(_CHUNK)
    if not head:
        return 0, False
    if not head.startswith(_BZ2_MAGIC):
        raise LogError(f"{path}: not a bzip2 file (the log is damaged)")
    total = 0
    streams_done = 0
    dec = bz2.BZ2Decompressor()
    data = head
    while True:
        if dec.eof:
            # pbzip2 and concatenated logs hold several streams back to back.
            streams_done += 1
            data = dec.unused_data or src.read(_CHUNK)
            if not data:
                return total, False
            dec = bz2.BZ2Decompressor()
        elif not data and dec.needs_input:
            data = src.read(_CHUNK)
            if not data:
                return total, True
        try:
            # max_length bounds the output of one call: a few compressed bytes
            # can stand for megabytes.
            out = dec.decompress(data, max_length=_CHUNK)
        except (OSError, EOFError, ValueError) as exc:
            if streams_done:
                # Like bzip2(1): trailing garbage after a complete stream is
                # ignored.
                return total, False
            raise LogError(f"{path}: corrupt bzip2 data ({exc})") from None
        data = b""
        if total + len(out) > limit:
            dst.write(out[: limit - total])
            return limit, True
        dst.write(out)
        total += len(out)


class LogFile:
    """Random access to one build log by byte offset.

    Use as a context manager, or call :meth:`close`. Reads may be issued from
    any thread.

    Attributes:
        path: The log file.
        compressed: It is a ``.bz2`` log, served from a decompressed copy.
        truncated: (``.bz2`` only) the compressed data ended early or the
            decompressed size reached the limit; what could be read is served.
    """

    def __init__(self, path: str, *, max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED) -> None:
        """Open ``path``; decompress it first if it ends in ``.bz2``.

        Args:
            path: The log file.
            max_uncompressed: Most bytes a ``.bz2`` log is decompressed to.

        Raises:
            LogError: The file is missing, unreadable, not a regular file, or
                not valid bzip2.
        """
        self.path = path
        self.compressed = path.endswith(".bz2")
        self.truncated = False
        self._lock = threading.Lock()
        self._closed = False
        self._fixed_size: int | None = None
        fd = _open_regular(path)
        if self.compressed:
            with os.fdopen(fd, "rb") as src:
                try:
                    tmp = tempfile.TemporaryFile(prefix="zbtui-log-")
                except OSError as exc:
                    raise LogError(
                        f"{path}: no room for a decompressed copy: {_strerror(exc)}"
                    ) from None
                try:
                    size, self.truncated = _decompress_bz2(src, tmp, path, max_uncompressed)
                    tmp.flush()
                except OSError as exc:
                    tmp.close()
                    # Reading the log or writing the copy failed (disk full...).
                    raise LogError(f"{path}: cannot decompress: {_strerror(exc)}") from None
                except BaseException:
                    tmp.close()
                    raise
            self._file: IO[bytes] = tmp
            self._fixed_size = size
        else:
            self._file = os.fdopen(fd, "rb", buffering=0)
        self._fd = self._file.fileno()

    # -- lifecycle

    def close(self) -> None:
        """Close the file (and delete the decompressed copy); idempotent."""
        if not self._closed:
            self._closed = True
            self._file.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> LogFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LogFile({self.path!r}, compressed={self.compressed})"

    # -- access

    def size(self) -> int:
        """Bytes of (uncompressed) content now; a plain log may still be growing."""
        self._check_open()
        if self._fixed_size is not None:
            return self._fixed_size
        try:
            return os.fstat(self._fd).st_size
        except OSError as exc:
            raise LogError(f"cannot read {self.path}: {_strerror(exc)}") from None

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)``, at most :data:`MAX_READ` of them.

        Shorter at the end of the file; empty past it.

        Raises:
            ValueError: A negative offset or length.
            LogError: The read failed.
        """
        if offset < 0 or length < 0:
            raise ValueError(f"negative offset or length: {offset}, {length}")
        return self._read_at(offset, min(length, MAX_READ))

    def tail(self, nbytes: int) -> tuple[int, bytes]:
        """The last ``nbytes`` bytes (at most :data:`MAX_READ`).

        Returns:
            (offset of the first returned byte, the bytes).
        """
        nbytes = max(0, min(nbytes, MAX_READ))
        size = self.size()
        offset = max(0, size - nbytes)
        return offset, self._read_at(offset, size - offset)

    def line_starts(
        self, start: int = 0, end: int | None = None, chunk: int = _CHUNK
    ) -> array[int]:
        """Offsets at which lines start, for offsets in ``[start, end)``.

        An offset starts a line if it is 0 or follows a ``\\n``. The end of the
        file does not start a line (a final ``\\n`` ends the last line), but
        once the file grows past it, a later call with ``start`` equal to the
        old end reports it: scanning ``[0, a)`` and then ``[a, b)`` gives the
        same offsets as ``[0, b)``, so the index can be extended as the file
        grows without rescanning.

        Args:
            start: First offset to consider.
            end: End of the range (exclusive); the current size when None or
                beyond it.
            chunk: Bytes read at a time; memory use is this plus 8 bytes per
                line found.

        Returns:
            ``array('q')`` of increasing offsets.
        """
        if start < 0 or chunk <= 0:
            raise ValueError(f"bad start or chunk size: {start}, {chunk}")
        size = self.size()
        if end is None or end > size:
            end = size
        starts = array("q")
        if start >= end:
            return starts
        if start == 0 or self._read_at(start - 1, 1) == b"\n":
            starts.append(start)
        pos = start
        while pos < end:
            data = self._read_at(pos, min(chunk, end - pos))
            if not data:
                break  # The file shrank under us.
            i = data.find(b"\n")
            while i != -1:
                line = pos + i + 1
                if line < end:
                    starts.append(line)
                i = data.find(b"\n", i + 1)
            pos += len(data)
        return starts

    def find(
        self,
        needle: bytes,
        start: int,
        *,
        backwards: bool = False,
        ignore_case: bool = False,
        chunk: int = _CHUNK,
    ) -> int | None:
        """Offset of the nearest match of ``needle`` from ``start``.

        Forwards, the first match that begins at or after ``start``; backwards,
        the last match that begins before ``start`` (so searching again from a
        match finds the previous one). Reads ``chunk`` bytes at a time, with an
        overlap so that matches across chunk boundaries are found.

        Args:
            needle: Bytes to look for (non-empty).
            start: Offset to search from.
            backwards: Search towards the start of the file.
            ignore_case: Compare ASCII letters case-insensitively (byte-wise,
                so offsets stay exact; non-ASCII letters must match exactly).
            chunk: Bytes scanned per read.

        Returns:
            The offset of the match, or None.
        """
        if not needle:
            raise ValueError("empty search string")
        if chunk <= 0:
            raise ValueError(f"bad chunk size: {chunk}")
        if ignore_case:
            needle = needle.lower()
        overlap = len(needle) - 1
        if not backwards:
            pos = max(0, start)
            while True:
                data = self._read_at(pos, chunk + overlap)
                if len(data) < len(needle):
                    return None
                if ignore_case:
                    data = data.lower()
                i = data.find(needle)
                if i != -1:
                    return pos + i
                pos += chunk
        hi = min(start, self.size())
        while hi > 0:
            lo = max(0, hi - chunk)
            # A match starting in [lo, hi) may run up to overlap bytes past hi.
            data = self._read_at(lo, hi - lo + overlap)
            if ignore_case:
                data = data.lower()
            i = data.rfind(needle)
            if i != -1:
                return lo + i
            hi = lo
        return None

    # -- internals

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on a closed log file")

    def _read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (no MAX_READ cap: internal use)."""
        self._check_open()
        if length <= 0:
            return b""
        parts: list[bytes] = []
        try:
            if _HAS_PREAD:
                # pread needs no shared file position: safe from any thread.
                while length > 0:
                    data = os.pread(self._fd, length, offset)
                    if not data:
                        break
                    parts.append(data)
                    offset += len(data)
                    length -= len(data)
            else:  # pragma: no cover - Windows
                with self._lock:
                    os.lseek(self._fd, offset, os.SEEK_SET)
                    while length > 0:
                        data = os.read(self._fd, length)
                        if not data:
                            break
                        parts.append(data)
                        length -= len(data)
        except OSError as exc:
            raise LogError(f"cannot read {self.path}: {_strerror(exc)}") from None
        return parts[0] if len(parts) == 1 else b"".join(parts)


def open_log(path: str, *, max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED) -> LogFile:
    """Open a build log for reading by offset.

    Args:
        path: The log file; a name ending in ``.bz2`` is decompressed first.
        max_uncompressed: Most bytes a ``.bz2`` log is decompressed to.

    Returns:
        An open :class:`LogFile`; close it (or use ``with``).

    Raises:
        LogError: The log cannot be opened, read or decompressed.
    """
    return LogFile(path, max_uncompressed=max_uncompressed)
