"""The log of one build result: opened at the end, live while the build runs."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.widgets import Header, Input, Static

from ..format import exact_size, human_size, short_path
from ..store.models import BuildDetail, BuildResult, BuildStatus
from ..widgets.build_status import result_status, short_build_id, status_text
from ..widgets.footer import Footer
from ..widgets.log_view import LogView
from .base import StoreScreen

__all__ = ["LogScreen"]


class _SearchInput(Input):
    """The search prompt; Escape closes it instead of leaving the screen."""

    BINDINGS = [
        Binding("escape", "screen.close_search", "Close search", tooltip="Close the search prompt"),
    ]


class LogScreen(StoreScreen):
    """The log of one derivation in one build."""

    TITLE = "Build log"
    LIVE = True

    HELP = """\
The builder's output (stdout and stderr together) for one derivation of one
build, as zb saved it under its log directory. It opens at the **end**, where
the error usually is.

- While the build is **running**, the view *follows* the log: new lines
  appear as the builder writes them and the view stays at the bottom, unless
  you scrolled up to read (press **End** or **G** to go back down). **f** turns
  following off and on.
- **/** searches (lower case matches any case; a capital letter makes the
  search exact). **n** and **N** go to the next and previous match; the
  search wraps around.
- Colours are kept; every other terminal control sequence (cursor movement,
  window titles, clipboard writes, links) is removed, so a hostile log cannot
  affect your terminal.
- A result that was **reused** (its output was already in the store, or
  substituted) has no log: no builder ran. Logs are also removed by zb's
  build log GC with their build.
- Very long lines are cut at 4,096 characters; logs of any size open at once
  (only the lines on screen are read).
"""

    BINDINGS = [
        # Priority, so the letters typed right after "/" in one burst reach the box.
        Binding("slash", "search", "Search", tooltip="Find text in the log", priority=True),
        Binding("n", "next_match", "Next", tooltip="Go to the next match"),
        Binding("N", "previous_match", "Previous", tooltip="Go to the previous match"),
        Binding("f", "toggle_follow", "Follow", tooltip="Stay at the end while the build writes"),
        Binding("d", "open_drv", "Derivation", tooltip="Open the derivation (.drv) object"),
        Binding("y", "copy_path", "Copy path", tooltip="Copy the log file's path (OSC 52)"),
    ]

    def __init__(self, build_id: str, drv_path: str) -> None:
        super().__init__()
        self.build_id = build_id
        """The build the result belongs to."""
        self.drv_path = drv_path
        """The derivation whose log this is."""
        self.detail: BuildDetail | None = None
        self.result: BuildResult | None = None
        self.missing_reason: str | None = None
        """Why there is no log to show (None while there is one)."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._title_text(), id="log-title")
        yield LogView(id="log-view")
        yield Static("", id="log-missing")
        yield _SearchInput(
            placeholder="Search the log: Enter finds, Escape closes", id="log-search"
        )
        yield Static("Loading…", id="log-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#log-missing").display = False
        self.query_one("#log-search").display = False
        self.query_one(LogView).focus()
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._update_title())
        self.load(lambda: self.store.build(self.build_id), self._show, key="build")

    def refresh_data(self) -> None:
        # Only a running result changes: its log grows, then it finishes.
        result = self.result
        if result is not None and result.status == BuildStatus.ACTIVE:
            self.load(lambda: self.store.build(self.build_id), self._show, key="build", quiet=True)

    # -- showing -----------------------------------------------------------------

    def _title_text(self) -> Text:
        title = Text()
        title.append(short_path(self.drv_path), style="bold")
        title.append(f"  build {short_build_id(self.build_id)}", style="dim")
        if self.result is not None and self.detail is not None:
            status, word = result_status(self.result.status, self.detail.build.status)
            title.append("  ")
            title.append_text(status_text(status, self.app, label=word))
        return title

    def _update_title(self) -> None:
        self.query_one("#log-title", Static).update(self._title_text())

    def _show(self, detail: BuildDetail | None) -> None:
        view = self.query_one(LogView)
        if detail is None:
            self._show_missing(f"No build {self.build_id} in this database (removed by build GC?).")
            return
        self.detail = detail
        self.result = next((r for r in detail.results if r.drv_path == self.drv_path), None)
        self._update_title()
        if self.result is None:
            self._show_missing(f"Build {self.build_id} has no result for {self.drv_path}.")
            return
        log = self.result.log
        if not log.exists or log.path is None:
            reason = log.reason or "no log file"
            if log.growing and not self.result.built:
                # Live: shown as soon as the builder starts (refresh_data).
                reason = "no log yet: the builder has not started (it appears here when it does)"
            elif log.path and self.result.built:
                # A builder ran, so there was a log: say where it should be.
                reason += f"\n\nLog file looked for: {log.path}"
            self._show_missing(reason[:1].upper() + reason[1:])
            return
        self.missing_reason = None
        self.query_one("#log-missing").display = False
        view.display = True
        if view.path != log.path:
            view.open(log.path, growing=log.growing)
        else:
            view.set_growing(log.growing)
        self.refresh_bindings()
        self._update_status()

    def _show_missing(self, reason: str) -> None:
        self.missing_reason = reason
        self.query_one(LogView).display = False
        missing = self.query_one("#log-missing", Static)
        missing.update(reason)
        missing.display = True
        self.query_one("#log-status", Static).update("No log to show.")
        self.refresh_bindings()

    @on(LogView.StateChanged)
    def _log_changed(self, event: LogView.StateChanged) -> None:
        event.stop()
        self._update_status()
        self.refresh_bindings()

    def _update_status(self) -> None:
        view = self.query_one(LogView)
        status = Text(no_wrap=True, overflow="ellipsis")
        if view.error:
            status.append(f"Cannot read the log: {view.error}", style="bold")
            self.query_one("#log-status", Static).update(status)
            return
        if view.indexing:
            status.append(f"indexing earlier lines… {view.indexed_fraction:.0%}", style="bold")
            if view.growing:
                status.append(" · following" if view.following else " · growing")
        elif view.growing:
            if view.following:
                status.append("● following", style="bold")
            else:
                status.append("○ not following (f)")
            status.append(" · growing")
        elif self._orphaned():
            status.append("⚠ will not grow: the build is orphaned", style="bold")
        else:
            status.append("finished")
        if view.indexing:
            # Line numbers are not known until the start is indexed.
            status.append(f" · last {view.line_count:,} lines")
        else:
            status.append(f" · {view.line_count:,} lines")
        status.append(f" · {human_size(view.size_bytes)}")
        if view.size_bytes >= 1024:
            status.append(f" ({exact_size(view.size_bytes)})", style="dim")
        if view.match_line is not None and view.last_search:
            if view.indexing:
                status.append(f" · “{view.last_search}” found")
            else:
                status.append(f" · “{view.last_search}” on line {view.match_line + 1:,}")
        if view.path:
            status.append(f" · {view.path}", style="dim")
        self.query_one("#log-status", Static).update(status)

    def _orphaned(self) -> bool:
        return (
            self.detail is not None
            and self.detail.build.status == BuildStatus.ORPHANED
            and self.result is not None
            and self.result.status == BuildStatus.ACTIVE
        )

    # -- actions -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        has_log = self.missing_reason is None and self.result is not None
        if action in ("search", "next_match", "previous_match"):
            if not has_log:
                return False
            if action != "search" and not self.query_one(LogView).last_search:
                return None  # shown greyed out: search first
        if action == "toggle_follow":
            return has_log and self.query_one(LogView).growing
        if action == "copy_path":
            return self.result is not None and self.result.log.path is not None
        return True

    def action_search(self) -> None:
        if self.zapp.type_into_focused_input("/"):
            return  # a slash typed in the search box
        search = self.query_one("#log-search", Input)
        search.display = True
        search.value = self.query_one(LogView).last_search or ""
        # At once, so letters typed right after "/" reach the search box.
        self.set_focus(search)

    def action_close_search(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.query_one(LogView).focus()

    @on(Input.Submitted, "#log-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_close_search()
        if event.value:
            self.query_one(LogView).search(event.value)
        self.refresh_bindings()

    def action_next_match(self) -> None:
        view = self.query_one(LogView)
        if view.last_search:
            view.search(view.last_search)

    def action_previous_match(self) -> None:
        view = self.query_one(LogView)
        if view.last_search:
            view.search(view.last_search, backwards=True)

    def action_toggle_follow(self) -> None:
        self.query_one(LogView).toggle_follow()

    def action_open_drv(self) -> None:
        self.zapp.open_object(self.drv_path)

    def action_copy_path(self) -> None:
        if self.result is not None and self.result.log.path:
            self.zapp.copy_path(self.result.log.path)

    def palette_commands(self) -> list[SystemCommand]:
        commands = []
        if self.check_action("search", ()):
            commands.append(
                SystemCommand("log: Search", "Find text in this log", self.action_search)
            )
        if self.check_action("toggle_follow", ()):
            commands.append(
                SystemCommand(
                    "log: Toggle follow",
                    "Stay at the end while the build writes",
                    self.action_toggle_follow,
                )
            )
        commands.append(
            SystemCommand(
                "view: Derivation", "Open this result's .drv object", self.action_open_drv
            )
        )
        return commands
