"""The first screen: what is in this store, and is anything wrong with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Label, OptionList
from textual.widgets.option_list import Option

from ..format import ago, exact_size, human_size, short_path, timestamp
from ..store.models import Build, ObjectRow, StoreSummary
from ..widgets.build_status import short_build_id, status_text
from ..widgets.table import MeasuredTable
from ..widgets.theme import theme_style
from .base import StoreScreen

__all__ = ["OverviewScreen"]

RECENT_BUILDS = 8
"""Rows of the "recent builds" table: enough to see what is going on."""

LARGEST_OBJECTS = 8
"""Rows of the "largest objects" table."""

SIGNATURE_SCAN_PAGE = 500
"""Realizations verified per worker round while tallying signature health."""

SIGNATURE_SCAN_LIMIT = 20_000
"""Realizations verified at most for the overview; a bigger store says how many were checked."""

LABEL_WIDTH = 16
"""Width of the label column of the summary ("Known but absent")."""

WIDE = 110
"""From this width on, the summary sits beside the tables instead of above them."""

STATUS_ORDER = ("active", "orphaned", "fail", "error", "success")
SIG_ORDER = ("trusted", "valid-untrusted", "unknown-key", "invalid", "unsupported", "malformed")


@dataclass(frozen=True)
class OverviewData:
    summary: StoreSummary
    builds: tuple[Build, ...]
    largest: tuple[ObjectRow, ...]
    trust: str


class OverviewScreen(StoreScreen):
    """Store summary, recent builds and the largest objects."""

    TITLE = "Overview"
    LIVE = True
    HELP = """\
The store at a glance. Every line of the summary leads somewhere: select it
(**Enter** or a click) to open that list.

- **Objects** are store paths present in the store (a row in the database; files
  on disk under the store directory). **Known but absent** paths are named by
  references, realizations or builds but are not present.
- **Realizations** map a derivation output (its derivation hash and output name)
  to an output path. Their **signatures** are verified here, by zbtui: zb itself
  never verifies them. *Trusted* means the Ed25519 signature verifies and the key
  is in your trusted keys.
- **Builds**: *orphaned* builds never ended because the server that ran them died
  (zb records no end time, and no live server heartbeat claims them).
- **Server heartbeat**: zb's server writes one every 5 seconds; older than
  10 seconds means no server is running.
"""
    BINDINGS = [
        Binding("o", "app.section('objects')", "Objects", show=False),
        Binding("b", "app.section('builds')", "Builds", show=False),
        Binding("r", "reload", "Reload", tooltip="Read the summary again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._data: OverviewData | None = None
        self._sig_counts: Counter[str] = Counter()
        self._sig_checked = 0
        self._sig_done = False
        self._trust = ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="overview-body"):
            yield OptionList(id="overview-facts")
            with Vertical(id="overview-lists"):
                yield Label("Recent builds", classes="section-title")
                yield MeasuredTable(id="overview-builds", cursor_type="row", zebra_stripes=True)
                yield Label("Largest objects", classes="section-title")
                yield MeasuredTable(id="overview-largest", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        builds = self.query_one("#overview-builds", DataTable)
        builds.add_column("Status", key="status")
        builds.add_column("Build", key="id")
        builds.add_column("Ended", key="when")
        builds.add_column("Results", key="results")
        largest = self.query_one("#overview-largest", DataTable)
        largest.add_column("Size", key="size")
        largest.add_column("Object", key="path")
        self.query_one(OptionList).add_option(Option("Reading the store…", disabled=True))
        self.refresh_data()
        self._scan_signatures(None)

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    # -- data ------------------------------------------------------------------

    def action_reload(self) -> None:
        self.refresh_data()
        self._sig_counts.clear()
        self._sig_checked = 0
        self._sig_done = False
        self._scan_signatures(None)

    def refresh_data(self) -> None:
        store = self.store

        def fetch() -> OverviewData:
            with store.snapshot():
                return OverviewData(
                    summary=store.summary(),
                    builds=store.builds(limit=RECENT_BUILDS).items,
                    largest=store.objects(sort="size", limit=LARGEST_OBJECTS).items,
                    trust=store.trust_description(),
                )

        self.load(fetch, self._show, key="overview", quiet=self._data is not None)

    def _scan_signatures(self, after: tuple | None) -> None:
        """Verify realization signatures page by page, tallying their status."""
        store = self.store
        self.load(lambda: store.realizations(after=after, limit=SIGNATURE_SCAN_PAGE), self._tally, key="signatures", quiet=True)

    def _tally(self, page) -> None:
        for realization in page.items:
            for sig in realization.signatures:
                self._sig_counts[sig.status] += sig.count
        self._sig_checked += len(page.items)
        if page.next_key is not None and self._sig_checked < SIGNATURE_SCAN_LIMIT:
            self._scan_signatures(page.next_key)
        else:
            self._sig_done = True
        if self._data is not None:
            self._render_facts(self._data.summary)

    def _show(self, data: OverviewData) -> None:
        self._data = data
        self._trust = data.trust
        self._render_facts(data.summary)
        self._render_builds(data.builds)
        self._render_largest(data.largest)

    # -- rendering -----------------------------------------------------------------

    def _color(self, name: str) -> str:
        return theme_style(self.app, name)

    def _render_facts(self, s: StoreSummary) -> None:
        facts = self.query_one(OptionList)
        highlighted = facts.highlighted
        muted = self._color("text-muted")
        options: list[Option] = []

        def line(target: str | None, label: str, value: Text | str, extra: Text | str = "") -> None:
            text = Text(value) if isinstance(value, str) else value.copy()
            if extra:
                text.append("  ")
                text.append(extra if isinstance(extra, Text) else Text(extra, style=muted))
            # A grid keeps wrapped text in the value column, under the value.
            grid = Table.grid(padding=(0, 1), expand=True)
            grid.add_column(width=LABEL_WIDTH, no_wrap=True)
            grid.add_column(ratio=1)
            grid.add_row(Text(label, style="bold"), text)
            # Option ids must be unique; several lines may lead to the same place.
            option_id = f"{target}#{len(options)}" if target else None
            options.append(Option(grid, id=option_id, disabled=target is None))

        line("objects", "Objects", f"{s.objects:,}", f"{s.drv_objects:,} of them .drv")
        line("largest", "Total NAR size", human_size(s.total_nar_size), exact_size(s.total_nar_size))
        line("realizations", "Known but absent", f"{s.absent_paths:,}", "paths named, not present")
        line(
            "realizations",
            "Realizations",
            f"{s.realizations:,}",
            f"{s.realizations_present:,} present · {s.realizations_absent:,} output absent",
        )
        line("realizations", "Signatures", f"{s.signatures:,}", self._signature_health(s))
        line("builds", "Builds", f"{s.build_total:,}", self._build_counts(s))
        if s.builds.get("orphaned"):
            warn = self._color("warning")
            line(
                "builds:orphaned",
                "  orphaned",
                Text(f"{s.builds['orphaned']:,}", style=f"bold {warn}"),
                Text("never ended: their server is gone", style=warn),
            )
        if s.server is not None:
            line("builds", "Server heartbeat", self._heartbeat(s), "")
        line("realizations", "Trust", self._trust, "")
        wal = f" + {human_size(s.wal_size)} WAL" if s.wal_size else ""
        line(None, "Database", f"{human_size(s.db_size)}{wal}", f"{s.schema}")
        line(None, "Store directory", s.store_dir, "" if s.real_store_dir == s.store_dir else f"files at {s.real_store_dir}")
        facts.clear_options()
        facts.add_options(options)
        if highlighted is not None and highlighted < facts.option_count:
            facts.highlighted = highlighted

    def _signature_health(self, s: StoreSummary) -> Text:
        colors = {
            "trusted": "success",
            "valid-untrusted": "text-muted",
            "unknown-key": "text-muted",
            "invalid": "error",
            "unsupported": "warning",
            "malformed": "error",
        }
        text = Text()
        for status in SIG_ORDER:
            count = self._sig_counts.get(status)
            if count:
                if text:
                    text.append(" · ", style=self._color("text-muted"))
                text.append(f"{count:,} {status}", style=self._color(colors[status]))
        if s.kind == "nix" and text:
            # Path signatures are verified per object (object detail); the scan covers realisations.
            text.append(" (realisations)", style=self._color("text-muted"))
        checked = f"{self._sig_checked:,} of {s.realizations:,} realizations checked"
        if not self._sig_done:
            text.append(("  " if text else "") + f"verifying… {checked}", style=self._color("text-muted"))
        elif self._sig_checked < s.realizations:
            text.append(f"  ({checked})", style=self._color("text-muted"))
        if not text:
            text.append("none", style=self._color("text-muted"))
        return text

    def _build_counts(self, s: StoreSummary) -> Text:
        colors = {"success": "success", "fail": "error", "error": "error", "active": "accent", "orphaned": "warning"}
        text = Text()
        for status in STATUS_ORDER:
            count = s.builds.get(status, 0)
            if count:
                if text:
                    text.append(" · ", style=self._color("text-muted"))
                text.append(f"{count:,} {status}", style=self._color(colors[status]))
        return text or Text("none", style=self._color("text-muted"))

    def _heartbeat(self, s: StoreSummary) -> Text:
        server = s.server
        assert server is not None
        now = self.now_ms()
        if server.state == "alive":
            return Text.assemble(("● alive", f"bold {self._color('success')}"), f" · last beat {ago(server.running_as_of, now)}")
        if server.state == "stale":
            return Text.assemble(
                ("● stale", f"bold {self._color('warning')}"),
                f" · last beat {ago(server.running_as_of, now)} ({timestamp(server.running_as_of)}): no server running",
            )
        return Text.assemble(("○ none", f"bold {self._color('text-muted')}"), " · no zb server is running")

    def _render_builds(self, builds: tuple[Build, ...]) -> None:
        table = self.query_one("#overview-builds", DataTable)
        table.clear()
        now = self.now_ms()
        for build in builds:
            when = build.ended_at if build.ended_at is not None else build.started_at
            label = ago(when, now) if build.ended_at is not None else f"started {ago(build.started_at, now)}"
            table.add_row(
                status_text(build.status, self.app),
                short_build_id(build.id),
                label,
                str(build.result_count),
                key=build.id,
            )
        if not builds:
            table.add_row(Text("no builds recorded", style=self._color("text-muted")), "", "", "")

    def _render_largest(self, rows: tuple[ObjectRow, ...]) -> None:
        table = self.query_one("#overview-largest", DataTable)
        table.clear()
        for row in rows:
            table.add_row(Text(human_size(row.nar_size), justify="right"), short_path(row.path), key=row.path)

    # -- navigation -------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#overview-facts")
    def _fact_selected(self, event: OptionList.OptionSelected) -> None:
        target = (event.option.id or "").split("#", 1)[0]
        if target == "largest":
            self.zapp.show_section("objects", sort="size")
        elif target.startswith("builds:"):
            self.zapp.show_section("builds", status=target.split(":", 1)[1])
        elif target:
            self.zapp.show_section(target)

    @on(DataTable.RowSelected, "#overview-builds")
    def _build_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.zapp.open_build(event.row_key.value)

    @on(DataTable.RowSelected, "#overview-largest")
    def _object_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.zapp.open_object(event.row_key.value)

    def action_copy(self) -> None:
        table = self.focused
        if isinstance(table, DataTable) and table.id == "overview-largest" and table.row_count:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            if key:
                self.zapp.copy_path(key)
