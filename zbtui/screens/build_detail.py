"""One build: its status, times, orphan evidence, expand result and results."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Header, OptionList, Static
from textual.widgets.option_list import Option

from ..format import duration, human_size, short_path, timestamp
from ..store.formats import split_store_path
from ..store.models import BuildDetail, BuildOutput, BuildResult, BuildStatus
from ..widgets.build_status import (
    result_status,
    status_icon,
    status_style,
    status_text,
    status_word,
)
from ..widgets.footer import Footer
from ..widgets.table import MeasuredTable, RowTable
from .base import StoreScreen
from .builds import compact_ago
from .tiers import WidthTiers

__all__ = ["BuildDetailScreen", "OutputPickerScreen"]

ORPHAN_EXPLANATION = (
    "A zb server that crashed or was killed never records the end of the builds it "
    "was running, so they stay unfinished forever: their results stay 'active' and "
    "their logs stop growing (zb's web UI calls them 'unknown'). Nothing will finish "
    "this build; zb's build GC deletes it after the log retention period."
)
"""Why a build is orphaned, for someone debugging a crashed server."""


def _store_path_in(value: str, store_dir: str) -> str | None:
    """The store object a value points into (``<store>/<digest>-<name>/bin/sh`` → the object)."""
    prefix = store_dir.rstrip("/") + "/"
    if not value.startswith(prefix):
        return None
    first = value[len(prefix) :].split("/", 1)[0]
    return prefix + first if first else None


class OutputPickerScreen(ModalScreen[str | None]):
    """Pick one output of a result to open."""

    BINDINGS = [
        Binding("escape", "dismiss_picker", "Cancel"),
        Binding("y", "copy", "Copy path", tooltip="Copy the highlighted output's path (OSC 52)"),
    ]

    def __init__(self, drv_path: str, outputs: tuple[BuildOutput, ...]) -> None:
        super().__init__()
        self.drv_path = drv_path
        self.outputs = outputs

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-box"):
            yield Static(f"Outputs of {short_path(self.drv_path)}", id="picker-title")
            options = []
            for output in self.outputs:
                if output.path is None:
                    label = Text(
                        f"{output.name} → — (not recorded: the build never got that far)",
                        style="dim",
                    )
                    options.append(Option(label, id=None, disabled=True))
                else:
                    # The base name (full digest): the store directory is
                    # the same for all, and a whole path wraps at 80 columns.
                    label = Text(f"{output.name} → {output.path.rsplit('/', 1)[-1]}")
                    if not output.present_in_store:
                        label.append("  (not in the store)", style="dim")
                    options.append(Option(label, id=output.path))
            yield OptionList(*options, id="picker-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            path = options.get_option_at_index(options.highlighted).id
            if path:
                self.app.copy_path(path)  # type: ignore[attr-defined]


class BuildDetailScreen(WidthTiers, StoreScreen):
    """Everything zb recorded about one build."""

    TITLE = "Build"
    LIVE = True

    HELP = """\
One build and every derivation it processed (its **results**).

- **Built** means a builder ran for that derivation; **reused** means its
  outputs were already in the store (or were substituted), so no builder ran
  and there is no log.
- **Builder** is the time the builder ran; **Total** includes waiting,
  fetching inputs and registering outputs.
- **Outputs** are the store objects the result produced ("—" when none was
  recorded, e.g. the build failed or never got that far).
- An **orphaned** build was left unfinished by a zb server that crashed or was
  killed: the panel at the top lists the evidence (no end time, a stale or
  missing server heartbeat, results left 'active').
- An **expand** build (``zb build --expand``) records the builder, arguments
  and environment it computed; they are listed above the results, and store
  paths in them open with Enter.

Enter on a result opens its log (at the end; live while it runs).
"""

    BINDINGS = [
        Binding("l", "open_log", "Log", tooltip="Open the highlighted result's build log"),
        Binding(
            "o",
            "open_output",
            "Output",
            tooltip="Open the result's output object (a list when several)",
        ),
        Binding(
            "d", "open_drv", "Derivation", tooltip="Open the result's derivation (.drv) object"
        ),
        Binding("y", "copy", "Copy path", tooltip="Copy the highlighted path (OSC 52)"),
    ]

    def __init__(self, build_id: str) -> None:
        super().__init__()
        self.build_id = build_id
        """The build shown (canonical UUID, or ``row:<n>`` for a damaged id)."""
        self.detail: BuildDetail | None = None
        self._results: dict[str, BuildResult] = {}
        self._cells: dict[str, tuple[Text, ...]] = {}

    # -- layout --------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="build-top"):
            yield Static(Text(self.build_id, style="bold"), id="build-heading")
            yield Static("Loading…", id="build-times")
            with Vertical(id="build-orphan"):
                # Evidence first: on a small terminal it is what must show.
                yield Static("", id="build-orphan-evidence")
                yield Static(ORPHAN_EXPLANATION, id="build-orphan-text")
            yield Static("", id="build-error")
            yield Static("", id="build-expand-problem")
            expand = MeasuredTable(id="build-expand", cursor_type="row", show_header=False)
            yield expand
        yield RowTable(id="build-results", cursor_type="row", zebra_stripes=True)
        yield Static("", id="build-result-info")
        yield Footer()

    def on_mount(self) -> None:
        for selector in ("#build-orphan", "#build-error", "#build-expand-problem", "#build-expand"):
            self.query_one(selector).display = False
        self.query_one("#build-orphan").border_title = "⚠ Orphaned build"
        self.query_one("#build-error").border_title = "Internal error"
        self.query_one("#build-expand").border_title = "Expand result"
        self.start_tiers()
        self._add_columns()
        self.query_one("#build-results").focus()
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)
        self.load(lambda: self.store.build(self.build_id), self._show, key="build")

    @property
    def _narrow(self) -> bool:
        return self.tier == "narrow"

    def _add_columns(self) -> None:
        table = self.query_one("#build-results", DataTable)
        table.add_column("Status", key="status")
        table.add_column("Derivation", key="drv")
        table.add_column("How", key="how")
        table.add_column("Builder", key="builder")
        if not self._narrow:
            table.add_column("Total", key="total")
        table.add_column("Log", key="log")
        # Last: the widest column, and the line below the table shows the
        # highlighted result's outputs in full.
        table.add_column("Outputs", key="outputs")

    def rebuild_for_width(self) -> None:
        # The Total column comes and goes with the width.
        self._rebuild_results()

    def _theme_changed(self, _theme: object) -> None:
        # Status colours come from the theme: draw everything again.
        self._rebuild_results()
        if self.detail is not None:
            self._show(self.detail)

    def _rebuild_results(self) -> None:
        table = self.query_one("#build-results", DataTable)
        keep = self._result_key()
        with self.app.batch_update():
            table.clear(columns=True)
            self._add_columns()
            self._cells.clear()
            for result in self._results.values():
                self._add_result(result)
            if keep is not None and keep in self._results:
                table.move_cursor(row=table.get_row_index(keep), animate=False)

    def refresh_data(self) -> None:
        # Only an unfinished build changes (and an orphan may turn out alive).
        if self.detail is None or self.detail.build.ended_at is None:
            self.load(lambda: self.store.build(self.build_id), self._show, key="build", quiet=True)

    # -- showing ---------------------------------------------------------------------

    def _show(self, detail: BuildDetail | None) -> None:
        if detail is None:
            self.query_one("#build-times", Static).update(
                f"No build {self.build_id} in this database "
                "(build GC removes builds after the log retention period)."
            )
            return
        self.detail = detail
        build = detail.build
        variables = self.app.theme_variables
        heading = Text()
        colour = variables.get(
            {"success": "success", "fail": "error", "error": "error"}.get(build.status, "warning"),
            None,
        )
        pill = Style(bgcolor=colour, color=variables.get("background"), bold=True)
        heading.append(
            f" {status_icon(build.status)} {status_word(build.status).upper()} ", style=pill
        )
        heading.append(f"  Build {build.id}", style="bold")
        self.query_one("#build-heading", Static).update(heading)
        self.query_one("#build-times", Static).update(self._times_text(detail))

        orphan = self.query_one("#build-orphan")
        orphan.display = build.status == BuildStatus.ORPHANED
        if orphan.display:
            # A grid, so a wrapped line hangs under its text, not its bullet.
            evidence = Table.grid(padding=(0, 1))
            evidence.add_column(no_wrap=True)
            evidence.add_column()
            for line in detail.orphan_evidence:
                evidence.add_row(
                    Text("•", style=status_style(BuildStatus.ORPHANED, variables)), Text(line)
                )
            self.query_one("#build-orphan-evidence", Static).update(evidence)

        error = self.query_one("#build-error", Static)
        error.display = bool(build.internal_error)
        if build.internal_error:
            error.update(Text(build.internal_error))
        problem = self.query_one("#build-expand-problem", Static)
        problem.display = bool(build.expand_problem)
        if build.expand_problem:
            problem.update(Text(f"Expand result unreadable: {build.expand_problem}"))
        self._show_expand(detail)
        self._show_results(detail)

    def _times_text(self, detail: BuildDetail) -> Text:
        build = detail.build
        now = self.now_ms()
        variables = self.app.theme_variables
        text = Text()
        text.append("Started ", style="dim")
        text.append(timestamp(build.started_at))
        if build.started_at is not None:
            text.append(f" ({compact_ago(build.started_at, now)})", style="dim")
        text.append("  Ended ", style="dim")
        if build.ended_at is not None:
            ended = timestamp(build.ended_at)
            if build.started_at is not None and ended[:10] == timestamp(build.started_at)[:10]:
                ended = ended[11:]  # same day: the date would only repeat
            text.append(ended)
            text.append("  Took ", style="dim")
            text.append(duration(build.duration_ms))
        elif build.status == BuildStatus.ORPHANED:
            text.append("never", style=status_style(BuildStatus.ORPHANED, variables))
        else:
            text.append("not yet")
            if build.started_at is not None:
                text.append(
                    f" (running for {duration(max(0, now - build.started_at))})", style="dim"
                )
        text.append("\n")
        count = len(detail.results)
        text.append(f"{count} result{'s' if count != 1 else ''}", style="bold")
        counts: dict[tuple[str, str], int] = {}
        for result in detail.results:
            key = result_status(result.status, build.status)
            counts[key] = counts.get(key, 0) + 1
        for (shown, word), n in counts.items():
            text.append("  ")
            text.append_text(status_text(shown, variables, label=f"{n} {word}"))
        built = sum(1 for r in detail.results if r.built)
        if count:
            text.append(f"  ·  {built} built, {count - built} reused", style="dim")
        return text

    def _show_expand(self, detail: BuildDetail) -> None:
        build = detail.build
        table = self.query_one("#build-expand", DataTable)
        rows: list[tuple[str, str]] = []
        if build.expand_builder is not None:
            rows.append(("builder", build.expand_builder))
        for i, arg in enumerate(build.expand_args or ()):
            rows.append((f"arg {i + 1}", arg))
        for name, value in sorted((build.expand_env or {}).items()):
            rows.append((f"env {name}", value))
        table.display = bool(rows)
        if not rows or table.row_count:
            return  # an expand result is written once, with the build's end
        if not table.columns:
            table.add_column("Name", key="name")
            table.add_column("Value", key="value")
        for i, (name, value) in enumerate(rows):
            table.add_row(Text(name, style="dim"), Text(value), key=str(i))

    def _result_cells(self, result: BuildResult) -> tuple[Text, ...]:
        assert self.detail is not None
        variables = self.app.theme_variables
        shown, word = result_status(result.status, self.detail.build.status)
        status = status_text(shown, variables, label=word)
        name = split_store_path(result.drv_path)[2]
        drv = Text(name.removesuffix(".drv") if self._narrow else short_path(result.drv_path))
        if result.built:
            how = Text("built")
        elif result.status == BuildStatus.ACTIVE:
            how = Text("waiting", style="dim")
        else:
            how = Text("reused", style="dim")
        builder = Text(duration(result.builder_ms), justify="right")
        if (
            result.builder_ms is None
            and result.builder_started_at is not None
            and shown == BuildStatus.ACTIVE
        ):
            builder = Text("running", justify="right", style="dim")
        total = Text(duration(result.duration_ms), justify="right")
        outputs = self._outputs_cell(result.outputs)
        if result.log.exists:
            log = Text(human_size(result.log.size), justify="right")
            if result.log.growing:
                log.append("…", style="dim")
        else:
            log = Text("—", justify="right", style="dim")
        cells = [status, drv, how, builder]
        if not self._narrow:
            cells.append(total)
        cells += [log, outputs]
        return tuple(cells)

    def _outputs_cell(self, outputs: tuple[BuildOutput, ...]) -> Text:
        if not outputs:
            return Text("—", style="dim")
        first = outputs[0]
        if self._narrow:
            cell = Text(first.name)
        else:
            cell = Text(f"{first.name} → ")
            cell.append(
                short_path(first.path) if first.path else "—", style="" if first.path else "dim"
            )
        if len(outputs) > 1:
            cell.append(f" +{len(outputs) - 1}", style="dim")
        return cell

    def _add_result(self, result: BuildResult) -> None:
        key = str(result.id)
        cells = self._result_cells(result)
        self._cells[key] = cells
        self.query_one("#build-results", DataTable).add_row(*cells, key=key)

    def _show_results(self, detail: BuildDetail) -> None:
        table = self.query_one("#build-results", DataTable)
        keep = self._result_key()
        with self.app.batch_update():
            fresh = {str(r.id): r for r in detail.results}
            for key in [k for k in self._results if k not in fresh]:
                table.remove_row(key)
                self._cells.pop(key, None)
            for key, result in fresh.items():
                if key not in self._results:
                    self._add_result(result)
                    continue
                cells = self._result_cells(result)
                for column, before, after in zip(
                    table.columns, self._cells[key], cells, strict=True
                ):
                    if before != after:
                        table.update_cell(key, column, after, update_width=True)
                self._cells[key] = cells
            self._results = fresh
            if keep is not None and keep in fresh:
                table.move_cursor(row=table.get_row_index(keep), animate=False)
        self._update_result_info()

    # -- the highlighted result ---------------------------------------------------------

    def _result_key(self) -> str | None:
        table = self.query_one("#build-results", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        except Exception:  # cursor past the end after a removal
            return None

    def _current(self) -> BuildResult | None:
        key = self._result_key()
        return self._results.get(key) if key is not None else None

    def _update_result_info(self) -> None:
        result = self._current()
        info = self.query_one("#build-result-info", Static)
        if result is None:
            info.update(Text("This build has no results." if self.detail is not None else ""))
            return
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(result.drv_path)
        for output in result.outputs:
            text.append(f"\n  {output.name} → ", style="dim")
            if output.path is None:
                text.append("— (not recorded)", style="dim")
            else:
                text.append(output.path)
                if not output.present_in_store:
                    text.append("  (not in the store)", style="dim")
        log = result.log
        if log.exists:
            text.append("\n  log ", style="dim")
            text.append(
                f"{human_size(log.size)}{', growing' if log.growing else ''}  {log.path}",
                style="dim",
            )
        elif log.reason:
            text.append(f"\n  {log.reason}", style="dim")
        info.update(text)

    @on(DataTable.RowHighlighted, "#build-results")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._update_result_info()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#build-results")
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.action_open_log()

    @on(DataTable.RowSelected, "#build-expand")
    def _expand_selected(self, event: DataTable.RowSelected) -> None:
        path = self._expand_path()
        if path is not None:
            self.zapp.open_object(path)
        else:
            self.notify("No store path in this value.", timeout=3)

    def _expand_value(self) -> str | None:
        table = self.query_one("#build-expand", DataTable)
        if not table.row_count:
            return None
        return table.get_row_at(table.cursor_row)[1].plain

    def _expand_path(self) -> str | None:
        value = self._expand_value()
        return _store_path_in(value, self.store.store_dir) if value else None

    # -- actions --------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_log", "open_output", "open_drv"):
            result = self._current()
            if result is None:
                return False
            if action == "open_output":
                return True if any(o.path for o in result.outputs) else None
        return True

    def action_open_log(self) -> None:
        result = self._current()
        if result is not None:
            self.zapp.open_log(result.build_id, result.drv_path)

    def action_open_drv(self) -> None:
        result = self._current()
        if result is not None:
            self.zapp.open_object(result.drv_path)

    def action_open_output(self) -> None:
        result = self._current()
        if result is None:
            return
        recorded = [o for o in result.outputs if o.path]
        if len(result.outputs) == 1 and recorded:
            self.zapp.open_object(recorded[0].path or "")
            return
        if not recorded:
            self.notify("No output path was recorded for this result.", timeout=3)
            return

        def opened(path: str | None) -> None:
            if path:
                self.zapp.open_object(path)

        self.app.push_screen(OutputPickerScreen(result.drv_path, result.outputs), opened)

    def action_copy(self) -> None:
        if self.focused is not None and self.focused.id == "build-expand":
            value = self._expand_value()
            if value:
                self.zapp.copy_path(value)
            return
        result = self._current()
        if result is not None:
            self.zapp.copy_path(result.drv_path)

    def palette_commands(self) -> list[SystemCommand]:
        commands = [
            SystemCommand(
                "build: Copy build id",
                "Copy this build's id (OSC 52)",
                lambda: self.zapp.copy_path(self.build_id),
            )
        ]
        if self._current() is not None:
            commands += [
                SystemCommand(
                    "build: Open log", "The highlighted result's build log", self.action_open_log
                ),
                SystemCommand(
                    "view: Derivation", "The highlighted result's .drv object", self.action_open_drv
                ),
                SystemCommand(
                    "view: Output",
                    "The highlighted result's output object",
                    self.action_open_output,
                ),
            ]
        return commands
