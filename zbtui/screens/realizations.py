"""The Realizations section and the detail of one derivation hash's realizations.

A realization is zb's record that building derivation hash *D*, output *N*,
produced output path *P*; with it come the reference classes (which
realization each reference of *P* came from) and signatures over all of it.
zb never verifies these signatures itself (spec §3): zbtui does, and says
which trust configuration the verdicts are relative to.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Static

from ..format import short_path
from ..store.formats import HashValue, split_store_path
from ..store.models import Page, Realization
from ..widgets.footer import Footer
from ..widgets.link_list import Link, LinkList, Row
from ..widgets.signature import PROBLEM_STATUSES, badge, key_label, signature_summary, status_counts
from ..widgets.table import MeasuredTable
from ..widgets.theme import theme_style
from .base import StoreScreen

__all__ = [
    "RealizationDetailScreen",
    "RealizationsScreen",
    "realization_rows",
    "trust_line",
]

PAGE_SIZE = 100
"""Realizations fetched per page of the section list (each brings its
reference classes and verified signatures, so pages stay modest)."""

SEARCH_DEBOUNCE_S = 0.25
"""Wait this long after the last keystroke before querying: one query per word, not per letter."""

HASH_PREVIEW = 16
"""Characters of an SRI derivation hash in lists (``sha256-`` and 9 of base64)."""

BADGE_WIDTH = 20
"""Cells of the badge column in signature lines, so keys line up."""

MORE_ROW = "more"
"""Row key of the "load more" line at the end of the section list."""

REALIZATION_HELP = """\
**Realization**: zb's record that building the derivation with *derivation
hash* D produced, for output *N* (`out`, `dev`…), the store path P. One
(D, N) can have several paths (a non-reproducible build, another cache); a
realization may name a path that is **absent from the store** (deleted since,
or imported from a cache and never downloaded). zb never deletes them.

**Reference classes**: for each reference of the output, which realization
(derivation hash ! output) it came from during the build, or **source** when it
was not built by a derivation of the build's inputs. zb uses them to pick
compatible realizations; they are part of what is signed.

**Signatures** are verified here, by zbtui (zb does not verify them, it only
checks that a row with a trusted key exists):

| Badge | Means |
|---|---|
| ✔ trusted | verifies, and the key is in the trust configuration shown at the top |
| ✔ valid · untrusted | verifies, but the key is not one you trust |
| ✘ invalid | does not verify: the record or the signature was altered |
| ? unsupported | a format other than ed25519; zb ignores it |
| ! malformed | the key or signature bytes have the wrong length or shape |
| ? unknown key | (Nix) signed by a key name no configuration knows |

**No trusted keys configured**: zb then reuses every recorded realization,
signed or not. zbtui can still check that signatures verify (✔ valid ·
untrusted), but none is "trusted". Pass `--trusted-key ed25519:<base64>` or
set `trustedPublicKeys` in zb's config to check against your keys.
"""


# -- shared rendering ------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _no_trust(description: str) -> bool:
    return description.lower().startswith("no ")


def trust_line(description: str, kind: str, app: App) -> Text:
    """The line that says which trust configuration the badges are relative to."""
    text = Text("Trust: ", style="bold")
    if not _no_trust(description):
        text.append(description)
        return text
    text.append(description, style=theme_style(app, "warning"))
    if kind == "zb":
        text.append(" · ✓ only means a signature verifies (? explains)", style="dim")
    return text


def short_hash(value: HashValue) -> str:
    """``sha256-lV1gloSVK…``: enough of the SRI text to recognise a hash."""
    sri = value.sri
    return sri if len(sri) <= HASH_PREVIEW else sri[:HASH_PREVIEW] + "…"


def _path_text(path: str) -> Text:
    _dir, digest, name = split_store_path(path)
    text = Text(name or path)
    if digest:
        text.append(f"  {digest[:7]}…", style="dim")
    return text


def realization_rows(
    realizations: Sequence[Realization],
    app: App,
    *,
    own_path: str | None = None,
    own_drv_hash: HashValue | None = None,
) -> list[Row]:
    """Lines (with links) describing realizations, grouped by derivation hash and output.

    Args:
        realizations: What to show, in the store's order (grouped already).
        app: Theme app, for colours.
        own_path: The object being viewed: its lines are not links to itself.
        own_drv_hash: The derivation hash being viewed: its header is not a link.
    """
    rows: list[Row] = []
    ordered = sorted(
        realizations,
        key=lambda r: (r.drv_hash.algorithm, r.drv_hash.digest, r.output_name, r.output_path),
    )
    sizes = Counter((r.drv_hash, r.output_name) for r in ordered)
    current_hash: HashValue | None = None
    for real in ordered:
        if real.drv_hash != current_hash:
            if current_hash is not None:
                rows.append((Text(""), None))
            current_hash = real.drv_hash
            header = Text(real.drv_hash.sri, style="bold")
            header.append("  derivation hash", style="dim")
            link = None if real.drv_hash == own_drv_hash else Link(drv_hash=real.drv_hash.sri)
            rows.append((header, link))
            rows.append((Text(f"{real.drv_hash.nix32}  (nix-base32)", style="dim"), None))
        rows.extend(
            _realization_body(real, app, own_path, sizes[(real.drv_hash, real.output_name)])
        )
    return rows


def _realization_body(
    real: Realization, app: App, own_path: str | None, paths_for_output: int
) -> list[Row]:
    rows: list[Row] = []
    line = Text("  output ", style="dim")
    line.append(real.output_name, style=f"bold {theme_style(app, 'accent')}")
    line.append(" → ", style="dim")
    line.append_text(_path_text(real.output_path))
    if real.present_in_store:
        line.append("  present", style=theme_style(app, "success"))
    else:
        line.append("  absent from the store", style=f"bold {theme_style(app, 'warning')}")
    if real.output_path == own_path:
        line.append("  (this object)", style="dim")
    rows.append((line, None if real.output_path == own_path else Link(path=real.output_path)))
    if paths_for_output > 1:
        rows.append(
            (
                Text(
                    f"      one of {paths_for_output} paths recorded for “{real.output_name}” "
                    "(a non-reproducible build, or another cache)",
                    style=theme_style(app, "warning"),
                ),
                None,
            )
        )

    classes = real.reference_classes
    if not classes:
        rows.append(
            (
                Text(
                    "      reference classes: none (a fixed output, or no input references)",
                    style="dim",
                ),
                None,
            )
        )
    else:
        rows.append((Text(f"      reference classes ({len(classes)})", style="dim"), None))
        for rc in classes:
            text = Text("        ")
            text.append_text(_path_text(rc.path))
            text.append("  ← ", style="dim")
            if rc.drv_hash is None:
                text.append("source", style="italic")
                link = Link(path=rc.path)
            else:
                text.append(short_hash(rc.drv_hash))
                text.append(f"!{rc.output_name}", style=theme_style(app, "accent"))
                link = Link(path=rc.path, drv_hash=rc.drv_hash.sri)
            rows.append((text, link))

    if not real.signatures:
        rows.append(
            (
                Text(
                    "      signatures: none (reused or found present, so zb recorded it unsigned)",
                    style="dim",
                ),
                None,
            )
        )
    else:
        rows.append(
            (Text(f"      signatures ({sum(s.count for s in real.signatures)})", style="dim"), None)
        )
        for check in real.signatures:
            detail = check.format if check.status == "unsupported" and check.format else None
            text = Text("        ")
            text.append_text(badge(check.status, app, detail=detail, width=BADGE_WIDTH))
            text.append(" ")
            text.append(key_label(check), style="dim" if check.public_key is None else "")
            if check.count > 1:
                text.append(f"  ×{check.count}", style=f"bold {theme_style(app, 'warning')}")
            rows.append((text, None))
    return rows


# -- the section root ------------------------------------------------------------------


class RealizationsScreen(StoreScreen):
    """Every realization of the store, paged, with a search and signature health."""

    TITLE = "Realizations"
    LIVE = True
    HELP = (
        "Every realization the store records, grouped by derivation hash and output "
        "name (a blank hash cell repeats the line above). **Enter** shows one "
        "derivation hash's realizations in full; **o** opens the output object; "
        "**/** filters by output path name. More load as you reach the end.\n\n"
        "The summary line counts signature verdicts over what is loaded.\n\n" + REALIZATION_HELP
    )

    BINDINGS = [
        Binding(
            "slash", "search", "Search", tooltip="Filter by a substring of the output path's name"
        ),
        Binding("o", "open_output", "Open output", tooltip="Open the output path's object"),
        Binding("y", "copy_path", "Copy path", tooltip="Copy the output path (OSC 52)"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload from the first page"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._items: list[Realization] = []
        self._next_key: tuple | None = None
        self._search: str | None = None
        self._loading_more = False
        self._debounce: Timer | None = None
        self._on_realization = True

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="realizations-top"):
            yield Static("Realizations", classes="section-title", id="realizations-title")
            # Compact (borderless): one line at 80×24 leaves the rows for the table.
            yield Input(
                placeholder="/ filter by output name…", id="realizations-search", compact=True
            )
        yield Static("", id="realizations-trust", classes="hint")
        yield Static("loading…", id="realizations-summary")
        yield MeasuredTable(id="realizations-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Drv hash", key="hash")
        table.add_column("Output", key="output")
        table.add_column("Output path", key="path")
        table.add_column("Present", key="present")
        table.add_column("Signatures", key="sigs")
        table.focus()
        self._reload()

    # -- loading ----------------------------------------------------------------------

    def _reload(self, *, limit: int | None = None, quiet: bool = False) -> None:
        # Workers get the store itself, never ``self``: nothing of the screen is touched off-thread.
        search, store = self._search, self.store
        limit = PAGE_SIZE if limit is None else limit

        def fetch() -> tuple[str, Page[Realization]]:
            return store.trust_description(), store.realizations(search=search, limit=limit)

        self.load(fetch, self._show_first, key="page", quiet=quiet)

    def _show_first(self, result: tuple[str, Page[Realization]]) -> None:
        description, page = result
        self.query_one("#realizations-trust", Static).update(
            trust_line(description, self.store.kind, self.app)
        )
        table = self.query_one(DataTable)
        keep = self._cursor_identity()
        self._items = list(page.items)
        self._next_key = page.next_key
        self._loading_more = False
        with self.app.batch_update():
            table.clear()
            self._add_rows(0)
        if keep is not None:
            for index, real in enumerate(self._items):
                if (real.drv_hash, real.output_name, real.output_path) == keep:
                    table.move_cursor(row=index)
                    break
        self._summarise()

    def _cursor_identity(self) -> tuple | None:
        real = self._current()
        return (real.drv_hash, real.output_name, real.output_path) if real else None

    def _load_more(self) -> None:
        if self._next_key is None or self._loading_more:
            return
        self._loading_more = True
        search, after, store = self._search, self._next_key, self.store
        self.load(
            lambda: store.realizations(search=search, after=after, limit=PAGE_SIZE),
            self._show_more,
            key="more",
        )

    def _show_more(self, page: Page[Realization]) -> None:
        table = self.query_one(DataTable)
        start = len(self._items)
        self._items.extend(page.items)
        self._next_key = page.next_key
        self._loading_more = False
        with self.app.batch_update():
            if MORE_ROW in table.rows:
                table.remove_row(MORE_ROW)
            self._add_rows(start)
        self._summarise()

    def _add_rows(self, start: int) -> None:
        table = self.query_one(DataTable)
        app = self.app
        previous = self._items[start - 1] if start else None
        for index in range(start, len(self._items)):
            real = self._items[index]
            same_hash = previous is not None and previous.drv_hash == real.drv_hash
            same_group = (
                same_hash and previous is not None and previous.output_name == real.output_name
            )
            present = (
                Text("yes", style=theme_style(app, "success"))
                if real.present_in_store
                else Text("absent", style=theme_style(app, "warning"))
            )
            table.add_row(
                Text("" if same_hash else short_hash(real.drv_hash)),
                Text("" if same_group else real.output_name, style=theme_style(app, "accent")),
                short_path(real.output_path),
                present,
                signature_summary(status_counts(real.signatures), app),
                key=str(index),
            )
            previous = real
        if self._next_key is not None:
            table.add_row(Text("… more (Enter)", style="dim"), "", "", "", "", key=MORE_ROW)
        elif not self._items:
            what = (
                f"No realization matches “{self._search}”."
                if self._search
                else "This store records no realizations."
            )
            table.add_row(Text(what, style="dim"), "", "", "", "", key=MORE_ROW)

    def _summarise(self) -> None:
        app = self.app
        counts: Counter[str] = Counter()
        for real in self._items:
            counts.update(status_counts(real.signatures))
        absent = sum(1 for r in self._items if not r.present_in_store)
        more = "+" if self._next_key is not None else ""
        text = Text(f"{len(self._items)}{more} realizations", style="bold")
        if absent:
            text.append(f" ({absent} absent)", style=theme_style(app, "warning"))
        text.append(" · signatures: ")
        text.append_text(signature_summary(counts, app, words=True))
        if more:
            text.append(" · over what is loaded", style="dim")
        self.query_one("#realizations-summary", Static).update(text)

    def refresh_data(self) -> None:
        # Keep as many rows as the user loaded, so a refresh does not lose their place.
        self._reload(limit=max(PAGE_SIZE, len(self._items)), quiet=True)

    def apply_options(self, search: str | None = None, **_options: object) -> None:
        """Section options: ``search`` pre-fills the filter."""
        if search is not None:
            self.query_one(Input).value = search

    # -- interaction --------------------------------------------------------------------

    def _current(self) -> Realization | None:
        table = self.query_one(DataTable)
        if not table.row_count or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        if key is None or key == MORE_ROW:
            return None
        return self._items[int(key)]

    @on(Input.Changed, "#realizations-search")
    def _search_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value.strip() or None
        self._debounce = self.set_timer(SEARCH_DEBOUNCE_S, lambda: self._apply_search(value))

    def _apply_search(self, value: str | None) -> None:
        if value != self._search:
            self._search = value
            self._reload()

    @on(Input.Submitted, "#realizations-search")
    def _search_done(self, event: Input.Submitted) -> None:
        # Enter searches at once (no debounce wait) and returns to the table.
        if self._debounce is not None:
            self._debounce.stop()
        self._apply_search(event.value.strip() or None)
        self.query_one(DataTable).focus()

    @on(DataTable.RowHighlighted, "#realizations-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Refreshing bindings recomposes the Footer: only when they change.
        on_realization = event.row_key.value != MORE_ROW
        if on_realization != self._on_realization:
            self._on_realization = on_realization
            self.refresh_bindings()
        if event.row_key.value == MORE_ROW:
            # Reaching the end loads the next page, like scrolling a feed.
            self._load_more()

    @on(DataTable.RowSelected, "#realizations-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value == MORE_ROW:
            self._load_more()
            return
        real = self._current()
        if real is not None:
            self.zapp.open_realizations(drv_hash=real.drv_hash.sri)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open_output", "copy_path"):
            return self._current() is not None
        return True

    def action_search(self) -> None:
        # At once, so letters typed right after "/" reach the filter.
        self.set_focus(self.query_one(Input))

    def action_open_output(self) -> None:
        real = self._current()
        if real is not None:
            self.zapp.open_object(real.output_path)

    def action_copy_path(self) -> None:
        real = self._current()
        if real is not None:
            self.zapp.copy_path(real.output_path)

    def action_reload(self) -> None:
        self._reload()

    def on_key(self, event: Key) -> None:
        # Escape in the search box leaves the box (keeping the filter) rather
        # than the section; stopping the key here keeps it from the Back binding.
        if event.key == "escape" and isinstance(self.focused, Input):
            event.stop()
            self.query_one(DataTable).focus()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            "view: First signature problem",
            "Move to the first loaded realization with an invalid, malformed or "
            "unsupported signature",
            self._jump_invalid,
        )

    def _jump_invalid(self) -> None:
        for index, real in enumerate(self._items):
            if any(s.status in PROBLEM_STATUSES for s in real.signatures):
                self.query_one(DataTable).move_cursor(row=index)
                return
        self.notify("No signature problem among the loaded realizations.", timeout=4)


# -- the detail screen --------------------------------------------------------------------


class RealizationDetailScreen(StoreScreen):
    """Every realization of one derivation hash, or of one output path, in full."""

    HELP = (
        "All realizations of one derivation hash (every output name, every recorded "
        "path), or all realizations whose output is one path. **Enter** on a path "
        "opens it; on a derivation hash it shows that hash's realizations. **d** on "
        "a reference class opens the realizations of its class.\n\n" + REALIZATION_HELP
    )

    def __init__(self, *, path: str | None = None, drv_hash: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.drv_hash = drv_hash
        self._hash_value: HashValue | None = None

    TITLE = "Realization detail"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._heading(), id="realization-title", classes="section-title")
        yield Static("", id="realization-trust", classes="hint")
        yield Static("loading…", id="realization-summary", classes="hint")
        yield LinkList(id="realization-lines")
        yield Footer()

    def _heading(self) -> Text:
        if self.drv_hash is not None:
            return Text.assemble("Realizations of derivation hash ", (self.drv_hash, "not bold"))
        return Text.assemble(
            "Realizations producing ", (split_store_path(self.path or "")[2], "not bold")
        )

    def on_mount(self) -> None:
        drv_hash, path, store = self.drv_hash, self.path, self.store

        def fetch() -> tuple[str, tuple[Realization, ...]]:
            if drv_hash is not None:
                found = store.realizations_for_drv_hash(drv_hash)
            else:
                found = store.realizations_for_path(path or "")
            return store.trust_description(), found

        self.load(fetch, self._show)
        self.query_one(LinkList).focus()

    def _show(self, result: tuple[str, tuple[Realization, ...]]) -> None:
        description, found = result
        app = self.app
        self.query_one("#realization-trust", Static).update(
            trust_line(description, self.store.kind, app)
        )
        own_hash = found[0].drv_hash if (self.drv_hash is not None and found) else None
        summary = self.query_one("#realization-summary", Static)
        if not found:
            what = "derivation hash" if self.drv_hash is not None else "path as an output"
            summary.update(
                f"No realization records this {what}. Sources, and objects imported or "
                "registered directly, have none."
            )
            self.query_one(LinkList).set_rows([])
            return
        counts: Counter[str] = Counter()
        for real in found:
            counts.update(status_counts(real.signatures))
        outputs = len({(r.drv_hash, r.output_name) for r in found})
        line = Text(f"{_plural(len(found), 'realization')}, {_plural(outputs, 'output')} · ")
        line.append_text(signature_summary(counts, app, words=True))
        summary.update(line)
        self.query_one(LinkList).set_rows(
            realization_rows(found, app, own_path=None, own_drv_hash=own_hash)
        )
