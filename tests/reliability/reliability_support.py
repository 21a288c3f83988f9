"""Shared tools of the reliability tests (importable as ``reliability_support``).

Damaging databases on purpose, running the app headless while recording
everything it tells the user, rendering what would reach the terminal, and
running commands as an unprivileged user.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import apsw
from rich.console import Console

from zbtui.app import ZbtuiApp
from zbtui.store.base import Store

NOBODY = 65534
"""The unprivileged uid/gid the permission tests run as."""

# Python itself lives under /root (mode 700) in this image, so the
# unprivileged process keeps CAP_DAC_READ_SEARCH: it may read and traverse
# anything, but every *write* permission check still applies to it. That is
# exactly the property under test (we can read, we cannot write).
SETPRIV = [
    "setpriv",
    f"--reuid={NOBODY}",
    f"--regid={NOBODY}",
    "--clear-groups",
    "--inh-caps=+dac_read_search",
    "--ambient-caps=+dac_read_search",
]

# -- files ---------------------------------------------------------------------


@dataclass(frozen=True)
class FileState:
    """What a file looked like: content digest, size and modification time."""

    sha256: str | None
    size: int | None
    mtime_ns: int | None
    data: bytes | None


def file_state(path: str) -> FileState:
    try:
        st = os.stat(path)
        if not os.path.isfile(path):
            return FileState("not a file", None, st.st_mtime_ns, None)
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return FileState(None, None, None, None)
    return FileState(hashlib.sha256(data).hexdigest(), st.st_size, st.st_mtime_ns, data)


def db_files(db: str) -> list[str]:
    return [db, db + "-wal", db + "-shm", db + "-journal"]


def copy_db(src: str, dst: str) -> str:
    """Copy a database with its -wal (never the -shm: a stale index is rebuilt)."""
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)
    if os.path.exists(src + "-wal"):
        shutil.copyfile(src + "-wal", dst + "-wal")
    return dst


def writable(db: str) -> apsw.Connection:
    """A read-write connection for *damaging* a test copy (never the reader's)."""
    conn = apsw.Connection(db, flags=apsw.SQLITE_OPEN_READWRITE)
    conn.set_busy_timeout(2000)
    return conn


def checkpoint(db: str) -> None:
    """Fold the WAL into the main file and remove -wal/-shm, as a clean stop does."""
    conn = writable(db)
    conn.execute("pragma wal_checkpoint(TRUNCATE)")
    conn.close()


def page_size(db: str) -> int:
    with open(db, "rb") as handle:
        header = handle.read(100)
    size = int.from_bytes(header[16:18], "big")
    return 65536 if size == 1 else size


def leaf_pages(db: str, table: str) -> list[int]:
    """Leaf page numbers of a table's b-tree, left to right (via ``dbstat``)."""
    conn = writable(db)
    try:
        rows = conn.execute(
            "select pageno from dbstat where name = ? and pagetype = 'leaf' order by path", (table,)
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def overwrite(db: str, offset: int, data: bytes) -> None:
    with open(db, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def corrupt_page_header(db: str, pageno: int) -> None:
    """Make a b-tree page unreadable: an invalid page type byte (SQLite: malformed)."""
    overwrite(db, (pageno - 1) * page_size(db), b"\x00\xff\xff\xff\xff\xff\xff\xff")


def corrupt_record_headers(db: str, pageno: int) -> int:
    """Damage the record header of every cell of a table leaf page.

    The page itself and each cell's rowid stay valid, so the b-tree can still be
    searched by rowid (an index scan that only joins on ids works); reading a
    column of one of these rows fails with SQLITE_CORRUPT. Returns the number
    of cells damaged.
    """
    size = page_size(db)
    base = (pageno - 1) * size
    with open(db, "r+b") as handle:
        handle.seek(base)
        page = bytearray(handle.read(size))
        header = 100 if pageno == 1 else 0
        assert page[header] == 0x0D, "not a table leaf page"
        cells = int.from_bytes(page[header + 3 : header + 5], "big")
        for i in range(cells):
            ptr = int.from_bytes(page[header + 8 + 2 * i : header + 10 + 2 * i], "big")
            pos = ptr
            _, pos = _varint(page, pos)  # payload size
            _, pos = _varint(page, pos)  # rowid
            # The record header size: larger than the whole payload.
            page[pos] = 0x7F
        handle.seek(base)
        handle.write(page)
    return cells


def _varint(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = buf[pos + i]
        if i == 8:
            return (value << 8) | byte, pos + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, pos + i + 1
    raise AssertionError("unreachable")


# -- the app, headless -------------------------------------------------------------


class RecordingApp(ZbtuiApp):
    """The real app, remembering every notification it shows."""

    def __init__(self, store: Store, **kwargs) -> None:
        super().__init__(store, **kwargs)
        self.notes: list[tuple[str, str, str]] = []
        """(severity, title, message) of every notification, in order."""

    def notify(self, message, *, title="", severity="information", timeout=None, markup=True) -> None:  # type: ignore[override]
        self.notes.append((str(severity), str(title), str(message)))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def errors(self) -> list[str]:
        return [m for s, _t, m in self.notes if s == "error"]

    def internal_errors(self) -> list[str]:
        """Notifications that betray a bug (an exception the layer did not word)."""
        return [m for _s, _t, m in self.notes if "internal error" in m or "Traceback" in m]


async def settle(pilot, rounds: int = 3) -> None:
    """Let workers finish and their results be shown (again: results start workers).

    A worker superseded by a newer one (exclusive groups) ends cancelled, and
    one may fail: both are part of normal operation here, not test errors.
    """
    import asyncio

    for _ in range(rounds):
        workers = list(pilot.app.workers)
        if workers:
            await asyncio.gather(*(w.wait() for w in workers), return_exceptions=True)
        await pilot.pause()


def terminal_output(app: ZbtuiApp) -> str:
    """What the app would write to a real terminal for a full redraw now.

    The headless driver discards output, so this renders the current screen's
    compositor update exactly as ``App._display`` does for a real terminal
    (cursor moves plus styled text, through a truecolor console).
    """
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
        safe_box=False,
    )
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    return update.render_segments(console)


def screen_text(app: ZbtuiApp) -> str:
    """The plain text of the current screen (no styles), one line per row."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None, legacy_windows=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console.print(update)
    return console.export_text()


# Every escape sequence a terminal could act on. Only SGR (``m``) and
# absolute cursor positioning (``H``, which Textual itself emits to draw each
# row) may appear in the app's own output.
_ESCAPES = re.compile(r"\x1b(\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]|.)", re.S)
_C1 = re.compile("[\x80-\x9f]")


def terminal_problems(output: str, *, allow_cup: bool = True, allow: str = "\n") -> list[str]:
    """Sequences in ``output`` other than SGR (and Textual's CUP), and stray
    controls other than those in ``allow`` (newline; a log may keep tabs)."""
    problems: list[str] = []
    for m in _ESCAPES.finditer(output):
        seq = m.group(0)
        if seq.startswith("\x1b[") and seq.endswith("m") and re.fullmatch(r"\x1b\[[0-9;:]*m", seq):
            continue
        if allow_cup and re.fullmatch(r"\x1b\[[0-9]+;[0-9]+H", seq):
            continue
        problems.append(repr(seq))
    stripped = _ESCAPES.sub("", output)
    for ch in set(stripped):
        if ch in allow:
            continue
        if ord(ch) < 0x20 or ord(ch) == 0x7F or _C1.match(ch):
            problems.append(f"control U+{ord(ch):04X}")
    return problems


# -- unprivileged runs ---------------------------------------------------------------


def can_drop_privileges() -> str | None:
    """None when commands can run as ``nobody`` here, else why not."""
    if os.geteuid() != 0:
        return "not root: cannot switch to another user (run the suite as root in CI)"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    probe = run_as_nobody(["--version"])
    if probe.returncode != 0 or not probe.stdout.startswith("zbtui "):
        return f"cannot run zbtui as uid {NOBODY} without capabilities: {probe.stderr.strip()[-300:]}"
    return None


AS_NOBODY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "as_nobody.py")


def run_as_nobody(args: Sequence[str], *, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``zbtui ARGS`` as uid/gid 65534 with no capability left (see as_nobody.py)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",
        "XDG_CONFIG_DIRS": "/nonexistent",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return subprocess.run([*SETPRIV, sys.executable, AS_NOBODY, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd="/")


def open_for_everyone(paths: Iterable[str]) -> None:
    """Let ``nobody`` traverse and read (never write) the given directories."""
    for path in paths:
        os.chmod(path, 0o755)


SECTIONS = ("overview", "objects", "builds", "realizations")


async def tour(
    pilot,
    store,
    *,
    builds: Sequence[str] = (),
    objects: Sequence[str] = (),
    logs: int = 1,
    sections: Sequence[str] = SECTIONS,
    ends: bool = False,
    realizations: bool = True,
) -> tuple[list[str], dict[str, list[str]]]:
    """Visit the sections (and their ends), then the given builds (with up
    to ``logs`` of their logs) and objects (with their realizations).

    Returns the names of the screens seen, and for each screen whose full
    redraw would send the terminal anything but text, SGR and cursor
    positioning, what it would send.
    """
    from zbtui.store.errors import StoreError

    app = pilot.app
    visited: list[str] = []
    unsafe: dict[str, list[str]] = {}

    async def look() -> None:
        await settle(pilot, rounds=2)
        name = type(app.screen).__name__
        visited.append(name)
        problems = terminal_problems(terminal_output(app))
        if problems:
            unsafe.setdefault(name, []).extend(sorted(set(problems)))

    async def back() -> None:
        while len(app.screen_stack) > 1:
            app.pop_screen()
            await pilot.pause()

    for section in sections:
        app.show_section(section)
        await look()
        if ends:
            await pilot.press("end")
            await look()
    opened_logs = 0
    for build_id in builds:
        app.open_build(build_id)
        await look()
        try:
            detail = store.build(build_id)
        except StoreError:
            detail = None
        for result in detail.results if detail else ():
            if opened_logs < logs and result.log.exists:
                app.open_log(build_id, result.drv_path)
                await look()
                opened_logs += 1
        await back()
    for path in objects:
        app.open_object(path)
        await look()
        if realizations:
            app.open_realizations(path=path)
            await look()
        await back()
    return visited, unsafe


def leaf_rowids(db: str, pageno: int) -> list[int]:
    """The rowids of the cells on a table leaf page."""
    size = page_size(db)
    with open(db, "rb") as handle:
        handle.seek((pageno - 1) * size)
        page = handle.read(size)
    header = 100 if pageno == 1 else 0
    cells = int.from_bytes(page[header + 3 : header + 5], "big")
    rowids = []
    for i in range(cells):
        ptr = int.from_bytes(page[header + 8 + 2 * i : header + 10 + 2 * i], "big")
        _, pos = _varint(page, ptr)
        rowid, _ = _varint(page, pos)
        rowids.append(rowid)
    return rowids
