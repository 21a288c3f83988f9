"""The Builds section: every build, newest first, filtered by status, live."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Header, Static, Tab, Tabs

from ..format import duration, timestamp
from ..store.models import Build, BuildStatus, Page, ServerState
from ..widgets.build_status import (
    result_status,
    short_build_id,
    status_icon,
    status_style,
    status_text,
)
from ..widgets.footer import Footer
from ..widgets.table import RowTable
from .base import StoreScreen
from .tiers import WidthTiers

__all__ = ["FILTERS", "BuildsScreen", "compact_ago", "server_phrase", "sort_key"]

PAGE_SIZE = 100
"""Builds per page. zb's web UI shows 25; 100 fills two or three screens at
40 rows, yet the page query (a status and result counts per build) stays a
few milliseconds, which matters because the live refresh re-reads this first
page every time the database changes (about once a second while zb works)."""

RESULT_COUNT_WIDTH = 3
"""Digits kept for a build's result count (a world rebuild has hundreds)."""

PREFETCH_MARGIN = 20
"""Load the next page when the cursor comes this close to the last loaded
row, so paging down never stops at the end of a page."""

FILTERS: dict[str, tuple[str | None, str]] = {
    "all": (None, "All"),
    "orphaned": (BuildStatus.ORPHANED, "Orphaned"),
    "fail": (BuildStatus.FAIL, "Failed"),
    "error": (BuildStatus.ERROR, "Error"),
    "active": (BuildStatus.ACTIVE, "Running"),
    "success": (BuildStatus.SUCCESS, "Success"),
}
"""Filter name → (status passed to ``Store.builds``, tab label)."""

_FILTER_WORDS = {
    "orphaned": "orphaned ",
    "fail": "failed ",
    "error": "error ",
    "active": "running ",
    "success": "successful ",
}


def compact_ago(ms: int | None, now_ms: int) -> str:
    """``45 s ago``, ``5 min ago``, ``3 h ago``, ``2 d ago``: short for a table."""
    if ms is None:
        return ""
    seconds = (now_ms - ms) // 1000
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def server_phrase(server: ServerState | None, now_ms: int) -> str:
    """The zb server's state in a few words (it decides running vs orphaned)."""
    if server is None or server.state == "none":
        return "no zb server running"
    if server.state == "alive":
        return "zb server alive"
    return f"zb server gone (last heartbeat {compact_ago(server.running_as_of, now_ms)})"


def sort_key(build: Build) -> tuple[int, int, str]:
    """The store's order (``coalesce(ended_at, started_at) desc, uuid``) as an
    ascending key; builds with no time at all come last, as in SQLite."""
    when = build.ended_at if build.ended_at is not None else build.started_at
    return (0 if when is not None else 1, -(when or 0), build.id)


class _KeyedText(Text):
    """A cell that carries its row's sort key, so ``DataTable.sort`` can put
    a new or newly finished build at the top without reloading the table."""

    sort_key: tuple[int, int, str]


class BuildsScreen(WidthTiers, StoreScreen):
    """All builds, newest first, with their derived status."""

    TITLE = "Builds"
    LIVE = True

    HELP = """\
Every build recorded in the database, newest first (by when it ended, or
started if it has not ended). The list is **live**: new builds and status
changes appear by themselves within about a second.

zb stores no build status; it is derived:

- **✔ success**: ended, and every result succeeded.
- **✘ failed**: a builder failed (non-zero exit, or an output not produced).
- **‼ error**: zb hit an internal error, or a result was cancelled.
- **● running**: not ended, and a zb server is alive (its heartbeat in the
  database is less than 10 seconds old).
- **⚠ orphaned**: not ended, and no server is working on it: there is no
  live heartbeat (or the live server, asked over its socket, does not know
  the build). A zb server that crashed or was killed never records the end
  of the builds it was running, so they stay unfinished forever; open one to
  see the evidence.

**Results** counts the derivations the build processed; failed (✘), errored
(‼) and unfinished ones are counted after it. Enter opens a build; the
letters below filter by status. The list loads 100 builds at a time: moving
down near the end loads more.
"""

    BINDINGS = [
        Binding("a", "filter('all')", "All", tooltip="Show builds of every status"),
        Binding(
            "o",
            "filter('orphaned')",
            "Orphaned",
            tooltip="Only builds left unfinished by a crashed server",
        ),
        Binding("f", "filter('fail')", "Failed", tooltip="Only builds whose builder failed"),
        Binding(
            "e", "filter('error')", "Error", tooltip="Only builds that ended with an internal error"
        ),
        Binding("r", "filter('active')", "Running", tooltip="Only builds still running"),
        Binding("s", "filter('success')", "Success", show=False, tooltip="Only successful builds"),
        Binding(
            "y", "copy_id", "Copy id", show=False, tooltip="Copy the selected build's id (OSC 52)"
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter = "all"
        """The current filter: a key of `FILTERS`."""
        self.builds: dict[str, Build] = {}
        """Builds shown, by id (the table's row keys)."""
        self.server: ServerState | None = None
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._next_key: tuple | None = None
        self._generation = 0
        self._loading_more = False
        self._loaded = False

    # -- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Tabs(
            *(Tab(label, id=f"filter-{name}") for name, (_s, label) in FILTERS.items()),
            id="builds-filter",
        )
        yield Static("Loading builds…", id="builds-hint", classes="hint")
        yield RowTable(id="builds-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
        self.start_tiers()
        self._add_columns()
        self.query_one(DataTable).focus()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self._reload()

    def _add_columns(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Status", key="status")
        table.add_column("Build", key="id")
        table.add_column("Started", key="started")
        table.add_column("Ended", key="ended")
        table.add_column("Took", key="took")
        table.add_column("Results", key="results")

    def rebuild_for_width(self) -> None:
        # Column contents depend on the width: rebuild rows from memory (no query).
        self._rebuild_rows()

    def _theme_changed(self, _theme: object) -> None:
        # Status colours in the cells come from the theme.
        self._rebuild_rows()

    def _rebuild_rows(self) -> None:
        table = self.query_one(DataTable)
        keep = self._cursor_key()
        with self.app.batch_update():
            table.clear(columns=True)
            self._add_columns()
            self._cells.clear()
            for build in sorted(self.builds.values(), key=sort_key):
                self._add_row(build)
            self._restore_cursor(keep, scroll=True)

    # -- cells -----------------------------------------------------------------------

    def _row_cells(self, build: Build) -> tuple[Text, ...]:
        now = self.now_ms()
        variables = self.app.theme_variables
        tier = self.tier
        status = status_text(build.status, variables)
        ident = _KeyedText(build.id if tier == "wide" else short_build_id(build.id))
        ident.sort_key = sort_key(build)
        started = Text(self._time(build.started_at))
        if tier != "narrow" and build.started_at is not None:
            started.append(f"  {compact_ago(build.started_at, now)}", style="dim")
        ended_text = self._time(build.ended_at)
        same_day = (
            build.ended_at is not None
            and build.started_at is not None
            and timestamp(build.ended_at)[:10] == timestamp(build.started_at)[:10]
        )
        if same_day:
            # Same day as the start: the date would only repeat itself.
            ended_text = timestamp(build.ended_at)[11 : 16 if tier == "narrow" else None]
        ended = Text(ended_text)
        if build.status == BuildStatus.ORPHANED:
            ended = Text("never", style=status_style(BuildStatus.ORPHANED, variables))
        if build.duration_ms is not None:
            took = Text(duration(build.duration_ms))
        elif build.status == BuildStatus.ACTIVE and build.started_at is not None:
            took = Text(duration(max(0, now - build.started_at)) + "…", style="dim")
        else:
            took = Text("—", style="dim")
        return (status, ident, started, ended, took, self._results_cell(build))

    def _time(self, ms: int | None) -> str:
        if ms is None:
            return "—"
        text = timestamp(ms)
        # Narrow terminals: minutes are enough to tell builds apart.
        return text[:16] if self.tier == "narrow" else text

    def _results_cell(self, build: Build) -> Text:
        variables = self.app.theme_variables
        # Totals right-aligned in a fixed width, so the counts of failed,
        # errored and unfinished results after them line up too.
        cell = Text(f"{build.result_count:>{RESULT_COUNT_WIDTH}}")
        for stored in ("fail", "error", "active"):
            count = build.result_counts.get(stored, 0)
            if count:
                shown, _word = result_status(stored, build.status)
                cell.append(f"  {count} {status_icon(shown)}", style=status_style(shown, variables))
        return cell

    def _add_row(self, build: Build) -> None:
        cells = self._row_cells(build)
        self._cells[build.id] = cells
        self.query_one(DataTable).add_row(*cells, key=build.id)

    # -- loading -----------------------------------------------------------------------

    def _fetch(self, after: tuple | None) -> Callable[[], tuple[Page[Build], ServerState | None]]:
        status = FILTERS[self.filter][0]

        def fetch() -> tuple[Page[Build], ServerState | None]:
            with self.store.snapshot():
                return self.store.builds(
                    status=status, after=after, limit=PAGE_SIZE
                ), self.store.server()

        return fetch

    def _reload(self) -> None:
        """Start over: the filter changed (or first show)."""
        self._generation += 1
        generation = self._generation
        self._loading_more = False
        self.query_one("#builds-hint", Static).update("Loading builds…")
        self.load(self._fetch(None), lambda r: self._show_first(r, generation), key="builds")

    def refresh_data(self) -> None:
        """Live: re-read the first page only and apply it as a keyed diff."""
        if not self._loaded:
            return
        generation = self._generation
        self.load(
            self._fetch(None), lambda r: self._merge_first(r, generation), key="refresh", quiet=True
        )

    def _show_first(self, answer: tuple[Page[Build], ServerState | None], generation: int) -> None:
        if generation != self._generation:
            return
        page, self.server = answer
        table = self.query_one(DataTable)
        with self.app.batch_update():
            table.clear()
            self.builds.clear()
            self._cells.clear()
            for build in page.items:
                self.builds[build.id] = build
                self._add_row(build)
            if table.row_count:
                table.move_cursor(row=0, animate=False)
        self._next_key = page.next_key
        self._loaded = True
        self._update_hint()

    def _merge_first(self, answer: tuple[Page[Build], ServerState | None], generation: int) -> None:
        if generation != self._generation:
            return
        page, self.server = answer
        table = self.query_one(DataTable)
        fresh = {build.id: build for build in page.items}
        complete = page.next_key is None
        floor = sort_key(page.items[-1]) if page.items else None
        keep = self._cursor_key()
        reorder = False
        with self.app.batch_update():
            # Vanished: deleted by build GC, or no longer matching the filter.
            # Beyond the first page nothing was re-read, so those rows stay.
            for build_id, build in list(self.builds.items()):
                if build_id in fresh:
                    continue
                if complete or floor is None or sort_key(build) < floor:
                    table.remove_row(build_id)
                    del self.builds[build_id]
                    self._cells.pop(build_id, None)
            for build in page.items:
                old = self.builds.get(build.id)
                self.builds[build.id] = build
                if old is None:
                    self._add_row(build)
                    reorder = True
                    continue
                cells = self._row_cells(build)
                for column, before, after in zip(
                    table.columns, self._cells[build.id], cells, strict=True
                ):
                    if before != after:
                        table.update_cell(build.id, column, after, update_width=True)
                self._cells[build.id] = cells
                reorder = reorder or sort_key(old) != sort_key(build)
            if reorder:
                table.sort("id", key=lambda cell: cell.sort_key)
            self._restore_cursor(keep)
        self._update_hint()

    def _load_more(self) -> None:
        if self._next_key is None or self._loading_more:
            return
        self._loading_more = True
        generation = self._generation
        self.load(self._fetch(self._next_key), lambda r: self._show_more(r, generation), key="more")

    def _show_more(self, answer: tuple[Page[Build], ServerState | None], generation: int) -> None:
        if generation != self._generation:
            return
        page, _server = answer
        self._loading_more = False
        with self.app.batch_update():
            for build in page.items:
                if build.id not in self.builds:  # moved up into the first page meanwhile
                    self.builds[build.id] = build
                    self._add_row(build)
        self._next_key = page.next_key
        self._update_hint()

    def _update_hint(self) -> None:
        count = len(self.builds)
        word = _FILTER_WORDS.get(self.filter, "")
        hint = Text()
        if count == 0:
            hint.append(f"No {word}builds.")
            if (
                self.filter == "orphaned"
                and self.server is not None
                and self.server.state == "alive"
            ):
                hint.append(" A zb server is alive, so unfinished builds count as running.")
            elif (
                self.filter == "active" and self.server is not None and self.server.state != "alive"
            ):
                hint.append(" No zb server is alive, so unfinished builds are orphaned (press o).")
        else:
            plural = "" if count == 1 else "s"
            if self._next_key is not None:
                hint.append(f"{count} {word}builds loaded, more below")
            else:
                hint.append(f"{count} {word}build{plural}")
            hint.append(", newest first")
        hint.append(" · live", style="bold")
        hint.append(f" · {server_phrase(self.server, self.now_ms())}", style="dim")
        self.query_one("#builds-hint", Static).update(hint)

    # -- cursor --------------------------------------------------------------------------

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        except Exception:  # cursor past the end after removals
            return None

    def _restore_cursor(self, key: str | None, *, scroll: bool = False) -> None:
        """Put the cursor back on the build ``key``.

        Without ``scroll`` the view stays where it is, so a build arriving at
        the top is seen arriving instead of pushing the list under the reader.
        """
        table = self.query_one(DataTable)
        if key is not None and key in self.builds:
            table.move_cursor(row=table.get_row_index(key), animate=False, scroll=scroll)

    @on(DataTable.RowHighlighted, "#builds-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row >= event.data_table.row_count - PREFETCH_MARGIN:
            self._load_more()

    @on(DataTable.RowSelected, "#builds-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.zapp.open_build(event.row_key.value)

    # -- filter ----------------------------------------------------------------------------

    def apply_options(self, *, status: str | None = None, **_ignored: object) -> None:
        """Options from ``app.show_section("builds", status=...)`` (overview, palette)."""
        name = "all" if status in (None, "all") else status
        for key, (value, _label) in FILTERS.items():
            if value == name or key == name:
                self.action_filter(key)
                return

    def action_filter(self, name: str) -> None:
        if name not in FILTERS:
            return
        self.query_one(Tabs).active = f"filter-{name}"
        self._set_filter(name)

    @on(Tabs.TabActivated, "#builds-filter")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        if event.tab.id is not None:
            self._set_filter(event.tab.id.removeprefix("filter-"))

    def _set_filter(self, name: str) -> None:
        if name == self.filter and self._generation:
            return
        self.filter = name
        if self.is_mounted:
            self._reload()
        self.query_one(DataTable).focus()

    def action_copy_id(self) -> None:
        key = self._cursor_key()
        if key is not None:
            self.zapp.copy_path(key)

    def palette_commands(self) -> list[SystemCommand]:
        return [
            SystemCommand(
                f"builds: {label}",
                f"Show only {_FILTER_WORDS[name]}builds"
                if name in _FILTER_WORDS
                else "Show builds of every status",
                lambda n=name: self.action_filter(n),
            )
            for name, (_status, label) in FILTERS.items()
        ]
