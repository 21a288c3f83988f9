"""The first screen: what is in this store, and is anything wrong with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from time import monotonic

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Header, Label, OptionList
from textual.widgets.option_list import Option

from ..format import ago, exact_size, human_size, short_path, timestamp
from ..store.errors import QueryCancelled, StoreError
from ..store.models import Build, ObjectRow, Page, Realization, StoreSummary
from ..widgets.build_status import short_build_id, status_text
from ..widgets.footer import Footer
from ..widgets.table import MeasuredTable
from ..widgets.theme import theme_style
from .base import StoreScreen

__all__ = ["OverviewScreen"]

RECENT_BUILDS = 8
"""Rows of the "recent builds" table: enough to see what is going on."""

LARGEST_OBJECTS = 8
"""Rows of the "largest objects" table."""

SIGNATURE_SCAN_PAGE = 200
"""Realizations verified per worker round: one short slice of work, then a pause."""

SIGNATURE_SCAN_LIMIT = 20_000
"""Realizations verified unasked; a bigger store shows a labelled sample, and ``v`` checks the rest."""

SIGNATURE_INLINE_LIMIT = 200
"""A store with at most this many realizations has them verified with the summary (a few ms)."""

SCAN_START_DELAY = 1.0
"""Seconds after the summary is painted (or the overview is shown again) before verifying starts."""

SCAN_IDLE = 0.5
"""Seconds without a key or click on the overview before the next page is verified."""

SCAN_REDRAW = 1.0
"""Seconds between two redraws of the signatures line while verifying (each redraws the summary)."""

SCAN_PAGE_GAP = 0.1
"""Least pause between two pages; a page that took longer is followed by as long a pause,
so that verifying never takes more than about half of a CPU, nor the GIL for long."""

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
    signatures: Page[Realization] | None = None
    """All realizations of a small store, verified with the summary (None: the scan verifies them)."""


class OverviewScreen(StoreScreen):
    """Store summary, recent builds and the largest objects."""

    TITLE = "Overview"
    LIVE = True
    HELP = f"""\
The store at a glance. Every line of the summary leads somewhere: select it
(**Enter** or a click) to open that list.

- **Objects** are store paths present in the store (a row in the database; files
  on disk under the store directory). **Known but absent** paths are named by
  references, realizations or builds but are not present.
- **Realizations** map a derivation output (its derivation hash and output name)
  to an output path. Their **signatures** are verified here, by zbtui: zb itself
  never verifies them. *Trusted* means the Ed25519 signature verifies and the key
  is in your trusted keys. Verifying runs in the background while this screen is
  shown and idle (it pauses on other screens and while you type); a big store
  gets a sample of its first {SIGNATURE_SCAN_LIMIT:,} realizations, and **v** verifies them all.
- **Builds**: *orphaned* builds never ended because the server that ran them died
  (zb records no end time, and no live server heartbeat claims them).
- **Server heartbeat**: zb's server writes one every 5 seconds; older than
  10 seconds means no server is running.
"""
    BINDINGS = [
        Binding("o", "app.section('objects')", "Objects", show=False),
        Binding("b", "app.section('builds')", "Builds", show=False),
        Binding("r", "reload", "Reload", tooltip="Read the summary again"),
        Binding("v", "verify_all", "Verify all", tooltip="Verify every realization's signatures, not a sample"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._data: OverviewData | None = None
        self._trust = ""
        # Signature verification: a tally over realizations in key order.
        self._sig_counts: Counter[str] = Counter()
        self._sig_checked = 0
        self._sig_after: tuple | None = None  # the next page starts after this key
        self._sig_limit: int | None = SIGNATURE_SCAN_LIMIT  # None: verify all
        self._sig_started = False  # scheduled once the summary was shown
        self._sig_done = False  # no more pages (the end, the limit, or an error)
        self._sig_error: str | None = None
        self._sig_running = False  # a page is being verified
        self._sig_timer: Timer | None = None
        self._sig_generation = 0  # bumped when pages in flight must be ignored
        self._page_started = 0.0
        self._last_input = 0.0
        self._signatures_line = 0  # its index in the summary's option list
        self._sig_drawn = 0.0  # when that line was last drawn

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

    def on_resize(self) -> None:
        self.set_class(self.size.width >= WIDE, "-wide")

    # -- data ------------------------------------------------------------------

    def action_reload(self) -> None:
        self._reset_signatures()
        self.refresh_data()

    def refresh_data(self) -> None:
        store = self.store

        def fetch() -> OverviewData:
            with store.snapshot():
                summary = store.summary()
                small = summary.realizations <= SIGNATURE_INLINE_LIMIT
                return OverviewData(
                    summary=summary,
                    builds=store.builds(limit=RECENT_BUILDS).items,
                    largest=store.objects(sort="size", limit=LARGEST_OBJECTS).items,
                    trust=store.trust_description(),
                    signatures=store.realizations(limit=SIGNATURE_INLINE_LIMIT) if small else None,
                )

        self.load(fetch, self._show, key="overview", quiet=self._data is not None)

    def _show(self, data: OverviewData) -> None:
        self._data = data
        self._trust = data.trust
        if data.signatures is not None:
            # A small store: verified afresh with every summary.
            self._reset_signatures()
            self._sig_started = True
            self._count_signatures(data.signatures)
            if not self._sig_done:  # it grew past the count since
                self.call_after_refresh(self._schedule_scan, SCAN_START_DELAY)
        elif not self._sig_started:
            # Verifying waits until this summary is on screen and the user idle.
            self._sig_started = True
            self.call_after_refresh(self._schedule_scan, SCAN_START_DELAY)
        self._render_facts(data.summary)
        self._render_builds(data.builds)
        self._render_largest(data.largest)

    # -- signature verification -----------------------------------------------------
    #
    # Verifying is Python work (a canonical JSON message and an Ed25519 check
    # per signature) and a scan of the signatures table per page: on a big
    # store it would compete with every frame and every query the user waits
    # for. So it starts only once the summary is painted and the screen has
    # been idle for a moment, verifies small pages with a pause after each,
    # waits while keys are being pressed, and stops whenever another screen
    # is shown (the page in flight is cancelled and verified again later).

    def _reset_signatures(self) -> None:
        self._stop_scan()
        self._sig_counts.clear()
        self._sig_checked = 0
        self._sig_after = None
        self._sig_limit = SIGNATURE_SCAN_LIMIT
        self._sig_started = False
        self._sig_done = False
        self._sig_error = None

    def _stop_scan(self) -> None:
        """Cancel the pending page and the one in flight (its result is ignored)."""
        if self._sig_timer is not None:
            self._sig_timer.stop()
            self._sig_timer = None
        if self._sig_running:
            self.workers.cancel_group(self, "signatures")
            self._sig_running = False
        self._sig_generation += 1

    def _schedule_scan(self, delay: float) -> None:
        if self._sig_done or self._sig_running or not self.is_attached:
            return
        if self._sig_timer is not None:
            self._sig_timer.stop()
        # (A zero-second Textual timer divides by zero.)
        self._sig_timer = self.set_timer(max(delay, 0.01), self._scan_page, name="signature scan")

    def _scan_page(self) -> None:
        """Verify the next page, if the overview is shown and the user idle."""
        self._sig_timer = None
        if self._sig_done or self._sig_running or not self.is_active:
            return  # on_screen_resume schedules it again
        quiet = monotonic() - self._last_input
        if quiet < SCAN_IDLE:
            self._schedule_scan(SCAN_IDLE - quiet)
            return
        limit = SIGNATURE_SCAN_PAGE
        if self._sig_limit is not None:
            limit = min(limit, self._sig_limit - self._sig_checked)
        store, after, generation = self.store, self._sig_after, self._sig_generation

        def fetch() -> Page[Realization] | str:
            try:
                return store.realizations(after=after, limit=limit)
            except QueryCancelled:
                raise
            except StoreError as exc:
                return str(exc)

        self._sig_running = True
        self._page_started = monotonic()
        self.load(fetch, lambda page: self._tally(page, generation), key="signatures", quiet=True)

    def _tally(self, page: Page[Realization] | str, generation: int) -> None:
        if generation != self._sig_generation:
            return  # stopped or reset since this page was asked for
        self._sig_running = False
        if isinstance(page, str):
            self._sig_error = page
            self._sig_done = True
        else:
            self._count_signatures(page)
        now = monotonic()
        if self._sig_done:
            self.refresh_bindings()  # "v" is offered only for a sample
        else:
            self._schedule_scan(max(SCAN_PAGE_GAP, now - self._page_started))
        if self._sig_done or now - self._sig_drawn >= SCAN_REDRAW:
            self._render_signatures()

    def _count_signatures(self, page: Page[Realization]) -> None:
        for realization in page.items:
            for sig in realization.signatures:
                self._sig_counts[sig.status] += sig.count
        self._sig_checked += len(page.items)
        self._sig_after = page.next_key
        if page.next_key is None or (self._sig_limit is not None and self._sig_checked >= self._sig_limit):
            self._sig_done = True

    @property
    def _sig_sampled(self) -> bool:
        """The scan stopped at its limit with realizations left unverified."""
        return self._sig_done and self._sig_error is None and self._sig_after is not None

    def action_verify_all(self) -> None:
        if not self._sig_sampled:
            return
        self._sig_limit = None
        self._sig_done = False
        self.refresh_bindings()
        self._render_signatures()
        self._schedule_scan(0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "verify_all":
            return self._sig_sampled
        return True

    def on_screen_suspend(self) -> None:
        self._stop_scan()

    def on_screen_resume(self) -> None:
        # (StoreScreen.on_screen_resume refreshes the summary as well.)
        if self._sig_started and not self._sig_done:
            self._schedule_scan(SCAN_START_DELAY)

    def on_key(self) -> None:
        self._last_input = monotonic()

    def on_mouse_down(self) -> None:
        self._last_input = monotonic()

    def on_mouse_scroll_down(self) -> None:
        self._last_input = monotonic()

    def on_mouse_scroll_up(self) -> None:
        self._last_input = monotonic()

    # -- rendering -----------------------------------------------------------------

    def _color(self, name: str) -> str:
        return theme_style(self.app, name)

    def _fact(self, label: str, value: Text | str, extra: Text | str = "") -> Table:
        """One line of the summary: its label, its value, then muted details."""
        text = Text(value) if isinstance(value, str) else value.copy()
        if extra:
            text.append("  ")
            text.append(extra if isinstance(extra, Text) else Text(extra, style=self._color("text-muted")))
        # A grid keeps wrapped text in the value column, under the value.
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=LABEL_WIDTH, no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(Text(label, style="bold"), text)
        return grid

    def _render_facts(self, s: StoreSummary) -> None:
        facts = self.query_one(OptionList)
        highlighted = facts.highlighted
        options: list[Option] = []

        def line(target: str | None, label: str, value: Text | str, extra: Text | str = "") -> None:
            # Option ids must be unique; several lines may lead to the same place.
            option_id = f"{target}#{len(options)}" if target else None
            options.append(Option(self._fact(label, value, extra), id=option_id, disabled=target is None))

        line("objects", "Objects", f"{s.objects:,}", f"{s.drv_objects:,} of them .drv")
        line("largest", "Total NAR size", human_size(s.total_nar_size), exact_size(s.total_nar_size))
        line("realizations", "Known but absent", f"{s.absent_paths:,}", "paths named, not present")
        line(
            "realizations",
            "Realizations",
            f"{s.realizations:,}",
            f"{s.realizations_present:,} present · {s.realizations_absent:,} output absent",
        )
        self._signatures_line = len(options)
        self._sig_drawn = monotonic()
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

    def _render_signatures(self) -> None:
        """Redraw only the signatures line (after each verified page)."""
        if self._data is None:
            return
        s = self._data.summary
        facts = self.query_one(OptionList)
        self._sig_drawn = monotonic()
        if self._signatures_line < facts.option_count:
            facts.replace_option_prompt_at_index(
                self._signatures_line, self._fact("Signatures", f"{s.signatures:,}", self._signature_health(s))
            )

    def _signature_health(self, s: StoreSummary) -> Text:
        colors = {
            "trusted": "success",
            "valid-untrusted": "text-muted",
            "unknown-key": "text-muted",
            "invalid": "error",
            "unsupported": "warning",
            "malformed": "error",
        }
        muted = self._color("text-muted")
        text = Text()
        for status in SIG_ORDER:
            count = self._sig_counts.get(status)
            if count:
                if text:
                    text.append(" · ", style=muted)
                text.append(f"{count:,} {status}", style=self._color(colors[status]))
        if s.kind == "nix" and text:
            # Path signatures are verified per object (object detail); the scan covers realisations.
            text.append(" (realisations)", style=muted)
        total, checked = s.realizations, self._sig_checked
        target = total if self._sig_limit is None else min(total, self._sig_limit)
        # What was verified: all realizations, or a sample (the first ones in key order).
        scope = f"a {target:,} sample" if target < total else f"{target:,} realizations"
        if self._sig_error is not None:
            text.append("  " if text else "")
            text.append(f"verifying stopped after {checked:,} of {total:,}: {self._sig_error}", style=self._color("error"))
        elif not self._sig_done and checked == 0 and not self._sig_running:
            text.append(f"verifying {scope} when idle", style=muted)
        elif not self._sig_done:
            # Honest while it runs: what was found so far, in how much.
            text.append(" so far" if text else "none so far", style=muted)
            text.append(f" · checked {checked:,} of {scope}…", style=muted)
        elif self._sig_sampled:
            text.append(("" if text else "none") + f" in a {checked:,} sample · v verifies all {total:,}", style=muted)
        elif checked != total:
            text.append(f"  ({checked:,} of {total:,} realizations checked)", style=muted)
        if not text:
            text.append("none", style=muted)
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
