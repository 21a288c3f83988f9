"""One store object: its metadata, references and referrers trees, why-depends,
the realizations that name it as an output, and the builds that produced it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import AwaitMount, Widget
from textual.widgets import Button, DataTable, Header, Static, TabbedContent, TabPane

from ..format import ago, duration, exact_size, human_size, timestamp
from ..messages import QueryFailed
from ..store.formats import split_store_path
from ..store.models import Build, BuildOutput, ClosureStats, ObjectInfo, Realization
from ..widgets.footer import Footer
from ..widgets.link_list import Link, LinkList, Row
from ..widgets.signature import badge, key_label
from ..widgets.store_tree import StoreTree
from ..widgets.table import MeasuredTable
from ..widgets.theme import theme_style
from .base import StoreScreen
from .realizations import realization_rows, trust_line

__all__ = ["ObjectDetailScreen"]

BUILDS_LIMIT = 50
"""Builds listed in the Builds tab (newest first); the store caps the query there too."""

BUILD_ID_CHARS = 8
"""Characters of a build UUID in the table: the time-ordered prefix tells builds apart."""

TABS = ("references", "referrers", "why", "realizations", "builds")
"""Tab ids in display order (``[`` and ``]`` cycle through them)."""

STATUS_COLOURS = {
    "success": "success",
    "fail": "error",
    "error": "error",
    "active": "warning",
    "orphaned": "warning",
}
"""Theme variable colouring each build status."""


class ObjectDetailScreen(StoreScreen):
    """Everything about one store path."""

    TITLE = "Object"

    AUTO_FOCUS = "#object-references"
    """Focused as the screen mounts (not the metadata panel, the first focusable widget)."""

    HELP = """\
All the store knows about one path. The panel at the top is the object's
metadata (**m** folds it):

- **NAR size / hash**: size and hash of the object's NAR serialisation; the hash
  is shown as stored and in the other encoding (SRI ↔ nix-base32).
- **CA** (content address): what the path's digest was computed from (zb objects are
  content-addressed; a *source* may refer to itself).
- **On disk**: whether the files exist under the store directory. A *known path,
  not a present object* is one the database mentions (a reference, a realization
  output, a build output) without an object row: deleted, or never downloaded.
- **Closure**: the object and everything it references, transitively (what
  copying it elsewhere would copy). Computed separately: it can be slow.

Tabs (click them, or **[** / **]**):

- **References** / **Referrers**: what this object refers to, and what refers
  to it. Children load when you expand a node (**space** or **→**): 50 first,
  then more as a "… n more" line scrolls into view (**Enter** on it loads them
  at once); **↳ n** / **↰ n** is how many each has in turn. **↺ self** marks a
  self-reference; **◌ shown above** a path already in the tree (not expanded
  twice, like `nix-store -q --tree`'s `[...]`; **f** jumps to it).
- **Why**: **w** asks for another object and shows one shortest chain of
  references from this one to it (`nix why-depends`).
- **Realizations**: the realizations whose output is this path, with their
  reference classes and verified signatures.
- **Builds**: builds that produced this path or built it (as a `.drv`).
"""

    BINDINGS = [
        Binding("y", "copy_path", "Copy path", tooltip="Copy this object's path (OSC 52)"),
        Binding(
            "w",
            "why",
            "Why…",
            tooltip="Pick another object and show the shortest reference chain to it",
        ),
        Binding("m", "toggle_metadata", "Metadata", tooltip="Fold or unfold the metadata panel"),
        Binding(
            "right_square_bracket", "next_tab", "Next tab", show=False, tooltip="Show the next tab"
        ),
        Binding(
            "left_square_bracket",
            "previous_tab",
            "Previous tab",
            show=False,
            tooltip="Show the previous tab",
        ),
    ]

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.info: ObjectInfo | None = None
        self._info_done = False
        self._closure: ClosureStats | None = None
        self._closure_done = False
        self._folded = False
        self._referrers_started = False
        self._why_target: str | None = None
        self._unknown = False
        self._rest_started = False
        self._loads_started = False
        self._realizations: tuple[str, tuple[Realization, ...]] | None = None
        self._realizations_loading = False
        self._builds: tuple[Build, ...] | None = None
        self._builds_loading = False
        self._filled: set[str] = {"references"}
        """Tabs whose widgets are mounted (or being mounted)."""
        self._ready: set[str] = {"references"}
        """Tabs whose widgets are mounted."""
        self._pending: dict[str, list[Callable[[], None]]] = {}
        """What waits for a tab's widgets to be mounted."""

    # -- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if not self._loads_started:
            # The queries run while the widgets mount (their answers are handled
            # after on_mount): the first frame can already show them.
            self._loads_started = True
            self._load_info()
        yield Header()
        with VerticalScroll(id="object-meta"):
            yield Static(self._loading_text(), id="object-meta-grid")
        # Only the first tab's widgets exist at first: the others are mounted
        # when first shown (``_fill``), so opening the screen mounts and styles
        # a third of the widgets.
        with TabbedContent(id="object-tabs", initial="references"):
            with TabPane("References", id="references"):
                yield StoreTree("references", self.load, path=self.path, id="object-references")
            yield TabPane("Referrers", id="referrers")
            yield TabPane("Why", id="why")
            yield TabPane("Realizations", id="realizations")
            yield TabPane("Builds", id="builds")
        yield Footer()

    def _tab_widgets(self, tab: str) -> list[Widget]:
        """The widgets of a tab other than the first, mounted when it is first shown."""
        if tab == "referrers":
            return [StoreTree("referrers", self.load, path=self.path, id="object-referrers")]
        if tab == "why":
            chain = LinkList(id="object-why")
            chain.display = False
            return [
                Static(
                    "Why does this object depend on another? Pick the other one: this shows one "
                    "shortest chain of references between them.",
                    id="object-why-hint",
                    classes="hint",
                ),
                # Compact: one line, so the chain keeps the room at 80×24.
                Button("Pick the other object… (w)", id="object-why-pick", compact=True),
                chain,
            ]
        if tab == "realizations":
            return [
                Static("", id="object-trust", classes="hint"),
                Static("loading…", id="object-realizations-hint", classes="hint"),
                LinkList(id="object-realizations"),
            ]
        if tab == "builds":
            table = MeasuredTable(id="object-builds", cursor_type="row", zebra_stripes=True)
            table.display = False
            return [Static("loading…", id="object-builds-hint", classes="hint"), table]
        return []

    def _fill(self, tab: str) -> None:
        """Mount a tab's widgets (once); ``_when_ready`` runs code after they are mounted."""
        if tab in self._filled or tab not in TABS:
            return
        self._filled.add(tab)
        mounted = self.query_one(f"#{tab}", TabPane).mount_all(self._tab_widgets(tab))
        self.call_later(self._filled_in, tab, mounted)

    async def _filled_in(self, tab: str, mounted: AwaitMount) -> None:
        await mounted
        self._ready.add(tab)
        if tab == "builds":
            builds = self.query_one("#object-builds", DataTable)
            builds.add_column("Status", key="status")
            builds.add_column("Build", key="id")
            builds.add_column("Started", key="started")
            builds.add_column("Duration", key="duration")
            builds.add_column("Results", key="results")
            if self._builds is not None:
                self._render_builds(self._builds)
        elif tab == "realizations" and self._realizations is not None:
            self._render_realizations(self._realizations)
        for callback in self._pending.pop(tab, []):
            callback()

    def _when_ready(self, tab: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the tab's widgets are mounted (now, if they are)."""
        if tab in self._ready:
            callback()
            return
        self._pending.setdefault(tab, []).append(callback)
        self._fill(tab)

    def on_mount(self) -> None:
        self.sub_title = _name(self.path)
        # The first page of references needs no metadata either (the count, for
        # its "more" line, follows with it).
        self.query_one("#object-references", StoreTree).set_root(self.path, None)

    # -- loading --------------------------------------------------------------------------

    def _load_info(self) -> None:
        # Workers get the store itself, never ``self``: nothing of the screen is touched off-thread.
        path, store = self.path, self.store

        def fetch() -> tuple[ObjectInfo | None, tuple[BuildOutput, ...], tuple[str, ...]]:
            info = store.object_info(path)
            # Only Nix records these outside builds; other stores answer ().
            outputs_of = getattr(store, "derivation_outputs", None)
            derivers_of = getattr(store, "derivers_of", None)
            outputs = (
                tuple(outputs_of(path)) if outputs_of is not None and path.endswith(".drv") else ()
            )
            derivers = tuple(derivers_of(path)) if derivers_of is not None else ()
            return info, outputs, derivers

        self.load(fetch, self._show_info, key="info")
        # The closure needs only the path: it runs beside the info, not after it
        # (an unknown path's closure is empty, and is not shown).
        self.load(lambda: store.closure(path), self._show_closure, key="closure")

    def _show_info(
        self, result: tuple[ObjectInfo | None, tuple[BuildOutput, ...], tuple[str, ...]]
    ) -> None:
        info, outputs, derivers = result
        self.info = info
        self._info_done = True
        if info is None:
            self._unknown = True
            self.refresh_bindings()  # why, fold and tab keys no longer apply
            self._show_unknown()
            return
        self._render_meta()
        self._show_related(info, outputs, derivers)
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("references").label = f"References {info.reference_count}"
        tabs.get_tab("referrers").label = f"Referrers {info.referrer_count}"
        self.query_one("#object-references", StoreTree).set_total(info.reference_count)
        if tabs.active == "referrers":
            self._when_ready("referrers", self._start_referrers)
        if tabs.active in ("realizations", "builds"):
            self._load_tab(tabs.active)
        self._maybe_load_rest()

    def _show_unknown(self) -> None:
        self.query_one("#object-meta-grid", Static).update(Text(self.path, style="bold"))
        missing = Static(
            Text.assemble(
                ("Unknown path. ", "bold"),
                "This store's database does not mention it at all: no object, no reference, "
                "no realization and no build names it. Press g to look for another path.",
            ),
            id="object-missing",
        )
        self.mount(missing, after="#object-meta")
        self.query_one(TabbedContent).display = False

    def _show_closure(self, stats: ClosureStats) -> None:
        self._closure = stats
        self._closure_done = True
        if not self._unknown:
            self._render_meta()
        self._maybe_load_rest()

    def on_query_failed(self, message: QueryFailed) -> None:
        super().on_query_failed(message)
        if message.key == "closure":
            self._closure_done = True
            if not self._unknown:
                self._render_meta()
            self._maybe_load_rest()
        elif message.key in ("realizations", "builds"):
            self._load_failed(message.key, message.error)

    def _maybe_load_rest(self) -> None:
        """Once the metadata and closure are in, count realizations and builds.

        They only label their tabs until those are shown; the verification of
        signatures and the scan for builds would slow what is on screen, so
        they start only now, and the Referrers tree is mounted after this frame.
        """
        if self._rest_started or not (self._info_done and self._closure_done) or self._unknown:
            return
        self._rest_started = True
        self._load_tab("realizations")
        self._load_tab("builds")
        # The tab most often shown next: its (empty) tree is ready before it is.
        self.call_after_refresh(self._fill, "referrers")

    def _load_tab(self, tab: str) -> None:
        """Start loading the realizations or builds (once, or again after a failure)."""
        path, store = self.path, self.store
        if tab == "realizations" and self._realizations is None and not self._realizations_loading:
            self._realizations_loading = True
            self._say_loading(tab)
            self.load(
                lambda: (store.trust_description(), store.realizations_for_path(path)),
                self._show_realizations,
                key="realizations",
            )
        elif tab == "builds" and self._builds is None and not self._builds_loading:
            self._builds_loading = True
            self._say_loading(tab)
            self.load(
                lambda: store.builds_for_path(path, BUILDS_LIMIT), self._show_builds, key="builds"
            )

    def _start_referrers(self) -> None:
        if self._referrers_started or self.info is None:
            return
        self._referrers_started = True
        self.query_one("#object-referrers", StoreTree).set_root(self.path, self.info.referrer_count)

    # -- metadata panel ------------------------------------------------------------------------

    def _render_meta(self) -> None:
        info = self.info
        grid = self.query_one("#object-meta-grid", Static)
        if info is None:
            grid.update(self._loading_text())
            return
        grid.update(self._folded_line(info) if self._folded else self._meta_table(info))

    def _loading_text(self) -> Text:
        """The panel until the metadata arrives (the closure may come first)."""
        text = Text(f"{self.path}\nloading…")
        if self._closure is not None:
            text.append("  closure ")
            text.append_text(self._closure_text())
        return text

    def _colour(self, name: str) -> str:
        return theme_style(self.app, name)

    def _closure_text(self) -> Text:
        if self._closure is None:
            return Text("computing…", style="dim italic")
        count = self._closure.count
        return Text(
            f"{count:,} path{'s' if count != 1 else ''}, {human_size(self._closure.nar_size)}"
        )

    def _folded_line(self, info: ObjectInfo) -> Text:
        text = Text(info.name or info.path, style="bold")
        if info.is_object:
            text.append(f" · {human_size(info.nar_size)}")
            text.append(
                " · on disk" if info.on_disk else " · not on disk",
                style="" if info.on_disk else self._colour("error"),
            )
        else:
            text.append(" · known path, not a present object", style=self._colour("warning"))
        text.append(" · closure ")
        text.append_text(self._closure_text())
        text.append("   m: show metadata", style="dim")
        return text

    def _meta_table(self, info: ObjectInfo) -> RenderableType:
        table = Table.grid(padding=(0, 1))
        table.add_column(style="bold", no_wrap=True)
        table.add_column(overflow="fold")
        table.add_row("Path", Text(info.path))
        name = Text(info.name or "—")
        if info.digest:
            name.append("  digest ", style="dim")
            name.append(info.digest)
        table.add_row("Name", name)
        if info.is_object:
            size = Text(f"{human_size(info.nar_size)} ({exact_size(info.nar_size)})")
            size.append("  on disk: ", style="dim")
            if info.on_disk:
                size.append("yes", style=self._colour("success"))
            else:
                size.append("no", style=f"bold {self._colour('error')}")
                size.append(" (the database has the object, its files are missing)", style="dim")
            table.add_row("NAR size", size)
            self._hash_rows(table, info)
            table.add_row("CA", self._ca_text(info))
        else:
            table.add_row(
                "Present",
                Text.assemble(
                    ("known path, not a present object", f"bold {self._colour('warning')}"),
                    (
                        ": the database names it (a reference, realization output or build "
                        "output) but has no object for it: deleted, or never downloaded",
                        "dim",
                    ),
                ),
            )
        edges = self._closure_text()
        edges.append(
            f"  ·  {_count(info.reference_count, 'reference')}, "
            f"{_count(info.referrer_count, 'referrer')}",
            style="dim",
        )
        table.add_row("Closure", edges)
        self._nix_rows(table, info)
        for problem in info.problems:
            table.add_row(
                Text("Problem", style=self._colour("error")),
                Text(problem, style=self._colour("error")),
            )
        return table

    def _hash_rows(self, table: Table, info: ObjectInfo) -> None:
        table.add_row("NAR hash", Text(info.nar_hash or "—"))
        value = info.nar_hash_value
        if value is None:
            return
        # Show the encodings the stored text is not in: zb stores SRI, Nix stores hex.
        for label, encoded in (("SRI", value.sri), ("nix32", value.nix32)):
            if encoded != info.nar_hash:
                table.add_row(Text(f"  {label}", style="dim"), Text(encoded, style="dim"))

    def _ca_text(self, info: ObjectInfo) -> Text:
        if info.content_address is not None:
            text = Text(info.content_address.raw)
            text.append(f"\n{info.content_address.explain()}", style="dim")
            return text
        if info.ca:
            return Text(info.ca)
        return Text(
            "none: input-addressed (the digest comes from the derivation, not the contents)",
            style="dim",
        )

    def _nix_rows(self, table: Table, info: ObjectInfo) -> None:
        if info.registration_time is not None:
            table.add_row(
                "Registered",
                Text.assemble(
                    timestamp(info.registration_time),
                    (f"  ({ago(info.registration_time, self.now_ms())})", "dim"),
                ),
            )
        if info.ultimate is not None:
            table.add_row(
                "Ultimate",
                "yes: built on this machine (trusted without signatures)"
                if info.ultimate
                else "no: substituted or imported",
            )
        if info.signatures:
            signatures = Text()
            for signature in info.signatures:
                if signatures:
                    signatures.append("\n")
                signatures.append_text(badge(signature.status, self.app))
                signatures.append(f"  {key_label(signature)}", style="dim")
            table.add_row("Signatures", signatures)

    def _show_related(
        self, info: ObjectInfo, outputs: Sequence[BuildOutput], derivers: Sequence[str]
    ) -> None:
        rows: list[Row] = []
        if info.deriver:
            rows.append((_labelled("Deriver", info.deriver), Link(path=info.deriver)))
        # The recorded deriver usually is one of them: list only the others.
        derivers = [drv for drv in derivers if drv != info.deriver]
        if derivers:
            rows.append(
                (Text("Also derived by" if info.deriver else "Derived by", style="bold"), None)
            )
            rows.extend((_labelled("", drv), Link(path=drv)) for drv in derivers)
        if outputs:
            rows.append((Text("Outputs of this derivation", style="bold"), None))
            for output in outputs:
                if output.path is None:
                    rows.append((Text(f"  {output.name}  (path not recorded)", style="dim"), None))
                    continue
                line = _labelled(output.name, output.path)
                if output.present_in_store:
                    line.append("  present", style=self._colour("success"))
                else:
                    line.append("  absent", style=self._colour("warning"))
                rows.append((line, Link(path=output.path)))
        if not rows:
            return  # most objects have none: the list is mounted only when needed
        related = LinkList(id="object-related")
        related.display = not self._folded
        self.query_one("#object-meta", VerticalScroll).mount(related)
        related.set_rows(rows)

    # -- tabs ---------------------------------------------------------------------------------

    def _show_realizations(self, result: tuple[str, tuple[Realization, ...]]) -> None:
        self._realizations = result
        self._realizations_loading = False
        self.query_one(TabbedContent).get_tab(
            "realizations"
        ).label = f"Realizations {len(result[1])}"
        if "realizations" in self._ready:
            self._render_realizations(result)

    def _render_realizations(self, result: tuple[str, tuple[Realization, ...]]) -> None:
        description, found = result
        app = self.app
        self.query_one("#object-trust", Static).update(
            trust_line(description, self.store.kind, app)
        )
        hint = self.query_one("#object-realizations-hint", Static)
        lines = self.query_one("#object-realizations", LinkList)
        if not found:
            hint.update(
                "No realization names this path as an output: a source, a .drv, or an object "
                "imported or registered directly."
            )
            hint.display = True
            lines.display = False
            return
        hint.display = False
        lines.display = True
        lines.set_rows(realization_rows(found, app, own_path=self.path))

    def _show_builds(self, builds: tuple[Build, ...]) -> None:
        self._builds = builds
        self._builds_loading = False
        self.query_one(TabbedContent).get_tab(
            "builds"
        ).label = f"Builds {len(builds)}{'+' if len(builds) >= BUILDS_LIMIT else ''}"
        if "builds" in self._ready:
            self._render_builds(builds)

    def _render_builds(self, builds: tuple[Build, ...]) -> None:
        hint = self.query_one("#object-builds-hint", Static)
        table = self.query_one("#object-builds", DataTable)
        if not builds:
            hint.update(
                "No recorded build produced this path or built it. It may have been reused or "
                "imported, or its builds were garbage-collected from the build history."
            )
            table.display = False
            return
        capped = f" (the newest {BUILDS_LIMIT})" if len(builds) >= BUILDS_LIMIT else ""
        hint.update(f"Builds that produced this path or built it{capped}; Enter opens one.")
        table.display = True
        table.clear()
        app = self.app
        for build in builds:
            status = str(build.status)
            table.add_row(
                Text(status, style=theme_style(app, STATUS_COLOURS.get(status, "text-muted"))),
                build.id[:BUILD_ID_CHARS],
                timestamp(build.started_at),
                duration(build.duration_ms),
                str(build.result_count),
                key=build.id,
            )

    def _hint(self, tab: str) -> Static | None:
        """The hint line of the Realizations or Builds tab, once mounted."""
        if tab not in self._ready:
            return None
        return self.query_one(f"#object-{tab}-hint", Static)

    def _say_loading(self, tab: str) -> None:
        hint = self._hint(tab)
        if hint is not None:  # a retry after a failure shown there
            hint.update("loading…")
            hint.display = True

    def _load_failed(self, tab: str, error: str) -> None:
        """A realizations or builds load failed: say so in the tab; showing it retries."""
        if tab == "realizations":
            self._realizations_loading = False
        else:
            self._builds_loading = False
        hint = self._hint(tab)
        if hint is not None:
            hint.update(Text(f"Could not load: {error}", style=self._colour("error")))
            hint.display = True

    @on(Button.Pressed, "#object-why-pick")
    def _why_button(self) -> None:
        self.action_why()

    @on(DataTable.RowSelected, "#object-builds")
    def _open_build(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.zapp.open_build(event.row_key.value)

    @on(TabbedContent.TabActivated, "#object-tabs")
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        tab = event.pane.id or ""
        self._fill(tab)
        if tab == "referrers":
            self._when_ready("referrers", self._start_referrers)
        elif tab in ("realizations", "builds") and self.info is not None:
            self._load_tab(tab)  # shown before the background load started (or after it failed)
        focused = self.focused
        if focused is None or (
            focused is not event.tabbed_content.active_pane
            and event.tabbed_content.active_pane not in focused.ancestors
            and any(isinstance(node, TabPane) for node in focused.ancestors)
        ):
            # The focus was in the pane just hidden (or was lost with it): keep
            # the keys working in the pane now shown. A focused tab bar keeps it.
            self._when_ready(tab, lambda: self._focus_in(tab))

    def _focus_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self._when_ready(tab, lambda: self._focus_in(tab))
        if tab == "referrers":
            self._when_ready("referrers", self._start_referrers)

    def _focus_in(self, tab: str) -> None:
        target = {
            "references": "#object-references",
            "referrers": "#object-referrers",
            "why": "#object-why",
            "realizations": "#object-realizations",
            "builds": "#object-builds",
        }[tab]
        widget = self.query_one(target)
        if tab == "why" and not widget.display:
            widget = self.query_one("#object-why-pick")
        if widget.display:
            widget.focus()

    def action_next_tab(self) -> None:
        self._cycle(1)

    def action_previous_tab(self) -> None:
        self._cycle(-1)

    def _cycle(self, step: int) -> None:
        current = self.query_one(TabbedContent).active
        index = TABS.index(current) if current in TABS else 0
        self._focus_tab(TABS[(index + step) % len(TABS)])

    # -- why-depends ---------------------------------------------------------------------------

    def action_why(self) -> None:
        from .why import WhyScreen

        self.query_one(TabbedContent).active = "why"
        self.app.push_screen(WhyScreen(self.path), self._why_picked)

    def _why_picked(self, target: str | None) -> None:
        if target is None:
            return
        self._why_target = target
        source, store = self.path, self.store

        def looking() -> None:
            hint = self.query_one("#object-why-hint", Static)
            hint.update(Text.assemble("Looking for a chain to ", (_name(target), "bold"), "…"))

        self._when_ready("why", looking)

        def fetch() -> tuple[list[str] | None, list[str] | None]:
            forward = store.why(source, target)
            backward = store.why(target, source) if forward is None else None
            return forward, backward

        self.load(
            fetch, lambda result: self._when_ready("why", lambda: self._show_why(result)), key="why"
        )

    def _show_why(self, result: tuple[list[str] | None, list[str] | None]) -> None:
        forward, backward = result
        target = self._why_target or ""
        hint = self.query_one("#object-why-hint", Static)
        lines = self.query_one("#object-why", LinkList)
        me, other = _name(self.path), _name(target)
        rows: list[Row] = []
        if forward is not None and len(forward) == 1:
            hint.update(f"{other} is this object itself. Press w to pick another.")
        elif forward is not None:
            hint.update(
                Text.assemble(
                    (me, "bold"),
                    " depends on ",
                    (other, "bold"),
                    f" through {len(forward) - 1} reference{'s' if len(forward) != 2 else ''} "
                    "(one shortest chain; each line references the next). w: ask again.",
                )
            )
            rows = _chain_rows(forward, self.path)
        elif backward is not None:
            hint.update(
                Text.assemble(
                    (me, "bold"),
                    " does not depend on ",
                    (other, "bold"),
                    ". The other way round, ",
                    (other, "bold"),
                    " depends on ",
                    (me, "bold"),
                    ":",
                )
            )
            rows = _chain_rows(backward, self.path)
        else:
            hint.update(
                Text.assemble(
                    (me, f"bold {self._colour('warning')}"),
                    " does not depend on ",
                    (other, f"bold {self._colour('warning')}"),
                    ", and ",
                    (other, "bold"),
                    " does not depend on ",
                    (me, "bold"),
                    " either: no chain of references joins them. w: ask again.",
                )
            )
        lines.display = bool(rows)
        lines.set_rows(rows)
        if rows:
            lines.focus()

    # -- other actions ----------------------------------------------------------------------------

    def action_copy_path(self) -> None:
        self.zapp.copy_path(self.path)

    def action_toggle_metadata(self) -> None:
        self._folded = not self._folded
        self.query_one("#object-meta").set_class(self._folded, "-folded")
        for related in self.query("#object-related").results(LinkList):
            related.display = not self._folded
        self._render_meta()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("why", "toggle_metadata", "next_tab", "previous_tab"):
            return not self._unknown
        return True

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "view: References",
            "This object's references tree",
            lambda: self._focus_tab("references"),
        )
        yield SystemCommand(
            "view: Referrers", "What refers to this object", lambda: self._focus_tab("referrers")
        )
        yield SystemCommand(
            "view: Why…", "Shortest reference chain to another object", self.action_why
        )
        yield SystemCommand(
            "view: Realizations of this path",
            "Realizations whose output is this path",
            lambda: self._focus_tab("realizations"),
        )
        yield SystemCommand(
            "view: Builds of this path",
            "Builds that produced or built this path",
            lambda: self._focus_tab("builds"),
        )
        yield SystemCommand(
            "view: Fold metadata", "Fold or unfold the metadata panel", self.action_toggle_metadata
        )


def _count(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def _name(path: str) -> str:
    return split_store_path(path)[2] or path


def _labelled(label: str, path: str) -> Text:
    _dir, digest, name = split_store_path(path)
    text = Text(f"  {label}  " if label else "  ", style="dim")
    text.append(name or path, style="not dim")
    if digest:
        text.append(f"  {digest[:7]}…", style="dim")
    return text


def _chain_rows(chain: Sequence[str], own_path: str) -> list[Row]:
    """One line per link of a why-chain, each (but this object) a link."""
    rows: list[Row] = []
    for index, path in enumerate(chain):
        _dir, digest, name = split_store_path(path)
        text = Text("   " if index == 0 else " ↓ ", style="bold")
        text.append(name or path)
        if digest:
            text.append(f"  {digest[:7]}…", style="dim")
        if path == own_path:
            text.append("  (this object)", style="dim")
        rows.append((text, None if path == own_path else Link(path=path)))
    return rows
