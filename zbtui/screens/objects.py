"""The Objects section: every object in the store, in one scrolling list.

The list (`ObjectList`) keeps only an index of ids and a few pages of rows,
so it scrolls a million objects as smoothly as a hundred. This screen owns the
queries: the first page (shown at once), the whole index (loaded behind it),
search as you type, and the pages the list asks for.

Search as you type has no debounce: a keystroke starts its query at once when
none is running (the leading edge). While one runs, later keystrokes cancel it
(the store interrupts its scan) and wait for its thread to end; only the
newest of them then runs. A query lane (`_Lane`) keeps that rule for the
first page and for the whole index, so a burst of typing never piles up
threads that fight over the GIL with the one that matters.
"""

from __future__ import annotations

import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Header, Input, Label
from textual.worker import Worker

from ..store.errors import QueryCancelled
from ..store.formats import NIX32_ALPHABET
from ..widgets.footer import Footer
from ..widgets.object_list import PAGE_SIZE, ListedObject, ObjectList
from .base import StoreScreen

__all__ = ["ObjectsScreen", "SearchBox"]

AUTO_RELOAD_LIMIT = 50_000
"""When the store changes, lists up to this long reload by themselves (a
fraction of a second); longer ones say so and wait for ``r``, so a busy build
server does not keep a million-object list re-sorting."""

DIGEST_LENGTH = 32
"""Characters in a store path digest."""

SORT_LABELS = {"name": "by name", "size": "by size, largest first"}
"""How the status line names each order."""

OBJECTS_HELP = """\
Every object in the store, one line each: a **drv** marker for derivations
(the `.drv` build recipes), the name, the first characters of the digest (the
hash part of the path, which tells two builds of one name apart), the **NAR
size** (the size of the object serialized as a Nix archive, the size zb and
Nix account for) and **absent** when the database lists the object but its
files are not in the store directory (deleted behind zb's back, or
`--store-dir` points elsewhere).

The search box filters as you type: a name containing the text (any case), or
a digest starting with it. Paste a whole store path, a base name
(`<digest>-name`) or a digest prefix and press **Enter** to jump to it: one
match opens, several are listed. Click a column header to sort by it.
Names sort byte by byte, as `ls` does in the C locale: `Python-…` comes
before `bash-…`.

The list stays fast with a million objects: it keeps the ids in order and
loads the rows you look at a page at a time (rows still loading show as `…`).
"""


def _looks_like_digest(text: str) -> bool:
    return 0 < len(text) <= DIGEST_LENGTH and all(c in NIX32_ALPHABET for c in text)


Query = tuple[str, "str | None", bool]
"""What the list shows: (sort, search term, .drv only)."""


@dataclass(eq=False, slots=True)
class _Run:
    """One query thread of a lane."""

    worker: Worker | None = None
    started: bool = False
    """Set by the thread as it begins."""
    superseded: bool = False
    """Set on the UI thread: a thread that has not begun returns at once."""


class _RunEnded(Message):
    """Posted by a lane's thread when its store call returned (or raised)."""

    def __init__(self, run: _Run) -> None:
        super().__init__()
        self.run = run


class _Lane:
    """One kind of query that runs in at most one thread at a time.

    ``submit`` starts at once when the lane is idle. Otherwise it cancels the
    running query (the store interrupts its scan) and waits: when that thread
    ends, the newest submission starts; older ones waiting with it are
    dropped. A superseded query left running would only compete for the GIL
    and the CPUs with the one the user is waiting for.
    """

    def __init__(self, screen: ObjectsScreen, key: str) -> None:
        self.screen = screen
        self.key = key
        self.running: _Run | None = None
        self.waiting: tuple[Callable[[], Any], Callable[[Any], None]] | None = None

    def submit(self, fetch: Callable[[], Any], deliver: Callable[[Any], None]) -> None:
        self.waiting = (fetch, deliver)
        if self.running is None:
            self._start()
        else:
            self._supersede(self.running)

    def cancel(self) -> None:
        """Drop the waiting query and cancel the running one."""
        self.waiting = None
        if self.running is not None:
            self._supersede(self.running)

    @staticmethod
    def _supersede(run: _Run) -> None:
        # Either the thread sees the flag, or this sees that it started and
        # cancels its worker (which interrupts SQLite). A worker is never
        # cancelled before its thread begins: its thread would then never
        # run, and never say that it ended.
        run.superseded = True
        if run.started and run.worker is not None:
            run.worker.cancel()

    def _start(self) -> None:
        assert self.waiting is not None
        fetch, deliver = self.waiting
        self.waiting = None
        run = _Run()
        screen = self.screen

        def in_thread() -> Any:
            run.started = True
            try:
                if run.superseded:
                    raise QueryCancelled("superseded before it started")
                return fetch()
            finally:
                screen.post_message(_RunEnded(run))

        self.running = run
        screen.load(in_thread, deliver, key=self.key)
        # The worker just created: the newest of this screen's group.
        run.worker = next((w for w in reversed(screen.workers) if w.node is screen and w.group == self.key), None)

    def ended(self, run: _Run) -> None:
        """``run``'s thread is done: start the newest waiting query."""
        if run is not self.running:
            return
        self.running = None
        if self.waiting is not None:
            self._start()


class SearchBox(Input):
    """The search input: Escape clears it and goes back to the list."""

    BINDINGS = [
        Binding("enter", "submit", "Go", tooltip="Open the one object that matches, or go to the matching list"),
        Binding("escape", "leave(True)", "Clear search", tooltip="Clear the search and go back to the list"),
        Binding("down", "leave(False)", "To the list", show=False),
    ]

    def action_leave(self, clear: bool) -> None:
        if clear:
            self.value = ""
        self.screen.query_one(ObjectList).focus()


class ObjectsScreen(StoreScreen):
    """The whole store, sortable, searchable, one scrolling list."""

    TITLE = "Objects"
    HELP = OBJECTS_HELP
    LIVE = True

    BINDINGS = [
        # Priority, so the letters typed right after "/" in one burst reach the box.
        Binding("slash", "focus_search", "Search", tooltip="Search names and digest prefixes", id="zb-objects-search", priority=True),
        Binding("s", "toggle_sort", "Sort", tooltip="Sort by name or by NAR size (largest first)", id="zb-objects-sort"),
        Binding("d", "toggle_drv", ".drv only", tooltip="Show only derivations (.drv), or everything", id="zb-objects-drv"),
        Binding("y", "copy", "Copy path", tooltip="Copy the selected path (OSC 52)", id="zb-objects-copy"),
        Binding("r", "reload", "Reload", show=False, tooltip="Reload the list from the database", id="zb-objects-reload"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__()
        self.sort = "name"
        """``name`` or ``size``."""
        self.search: str | None = None
        """The search term in effect (after normalising a pasted path)."""
        self.drv_only = False
        self._query_gen = 0
        """Bumped per query; results of an older one are dropped."""
        self._shown_gen = -1
        """The query generation whose rows the list shows (first page or index)."""
        self._shown_query: Query | None = None
        """The query whose rows the list shows."""
        self._base: tuple[Query, array.array, list[ListedObject]] | None = None
        """The index of the list without a search (this sort and filter) and
        the rows of its first page, kept so that clearing a search shows it at
        once. By name it is the store's own name index array (shared, no
        copy); other indexes are not kept: the one shown is the list's."""
        self._first_lane = _Lane(self, "first-page")
        self._index_lane = _Lane(self, "index")
        self._token: tuple | None = None
        """The database's data version when the shown index was read."""
        self._stale = False
        """The store changed since the index was read (and no reload yet)."""
        self._loading = False
        self._can_copy = False
        """Whether the list has rows (the ``y`` binding shows)."""
        self._copy_wanted: int | None = None
        """``y`` was pressed on this object while its row was loading."""
        self._labels: dict[str, str] = {}
        """The text of each status label, to skip updates that change nothing."""

    # -- layout ------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        # Compact (one line, no border): at 80×24 every line of list counts.
        yield SearchBox(placeholder="/ Search name or digest prefix…", id="objects-search", compact=True)
        with Horizontal(id="objects-bar"):
            yield Label("Loading objects…", id="objects-status")
            yield Label("", id="objects-position")
        yield ObjectList(self._load_rows, id="objects-list")
        yield Footer()

    @property
    def object_list(self) -> ObjectList:
        return self.query_one(ObjectList)

    def on_mount(self) -> None:
        self.object_list.focus()
        self._reload()

    # -- queries -------------------------------------------------------------------

    def _query(self) -> Query:
        return (self.sort, self.search, self.drv_only)

    def _reload(self, *, keep_id: int | None = None) -> None:
        """Load the list for the current sort, search and filter.

        First one page from a top-N query, shown at once; then, only if there
        is more, the whole index (by name from the store's name index, by size
        a full sort: about a second for a million objects). The two run one
        after the other so that the first page does not compete with the big
        query, and a search with fewer than a page of matches costs one
        query. Each runs in its lane (`_Lane`): a newer query cancels an older
        one, and the store interrupts its SQLite scan.

        Args:
            keep_id: A live reload: skip the first page, and keep the cursor on
                this object.
        """
        self._query_gen += 1
        gen = self._query_gen
        query = self._query()
        base = self._base
        if base is not None and self._shown_query == base[0] and query != base[0]:
            # Leaving the list without a search: keep its first rows to come back to.
            self._base = (base[0], base[1], self.object_list.page_items(0))
        self.object_list.sort = self.sort
        self._index_lane.cancel()  # the index being loaded, if any, is another query's
        if keep_id is not None:
            self._first_lane.cancel()
            self._loading = True
            self._shown_gen = gen  # a live reload: the rows shown stay meaningful
            self._load_index(gen, query, keep_id)
        elif query == self._shown_query:
            # Back to what the list shows (a letter typed and erased): keep it,
            # and the cursor; only a first page still needs its index.
            self._first_lane.cancel()
            self._shown_gen = gen
            self._loading = not self.object_list.complete
            if self._loading:
                self._load_index(gen, query, None)
        elif self._base is not None and self._base[0] == query:
            self._first_lane.cancel()
            self._show_index(gen, query, None, self._base[1], self._base[2])
            return
        else:
            self._loading = True
            sort, search, drv_only = query
            store = self.store

            def first_page() -> tuple[tuple, list[ListedObject], bool]:
                token = store.data_version()  # read first: a write during the query shows as a change
                page = store.objects(sort=sort, search=search, drv_only=drv_only, limit=PAGE_SIZE)
                items = [ListedObject(r, store.on_disk(r.path)) for r in page.items]
                return token, items, page.next_key is not None

            self._first_lane.submit(first_page, partial(self._first_page_loaded, gen, query))
        self._update_status()

    def _first_page_loaded(self, gen: int, query: Query, result: tuple[tuple, list[ListedObject], bool]) -> None:
        if gen != self._query_gen:
            return
        token, items, more = result
        if not more:
            # The first page is the whole list: it is the index.
            self._token = token
            self._show_index(gen, query, None, array.array("q", (item.row.id for item in items)), items)
            return
        self.object_list.show_first_page(items, more=True)
        self._shown_gen = gen
        self._shown_query = query
        self._update_status()
        self._load_index(gen, query, None)

    def _load_index(self, gen: int, query: Query, keep_id: int | None) -> None:
        sort, search, drv_only = query
        store = self.store

        def index() -> tuple[tuple, array.array]:
            token = store.data_version()
            return token, store.object_ids(sort=sort, search=search, drv_only=drv_only)

        self._index_lane.submit(index, partial(self._index_loaded, gen, query, keep_id))

    def _index_loaded(self, gen: int, query: Query, keep_id: int | None, result: tuple[tuple, array.array]) -> None:
        if gen != self._query_gen:
            return
        self._token, ids = result
        if keep_id is None and self._shown_gen == gen:
            # The user may already be moving through this query's first page.
            selected = self.object_list.selected
            keep_id = selected.row.id if selected else None
        self._show_index(gen, query, keep_id, ids)

    @on(_RunEnded)
    def _run_ended(self, message: _RunEnded) -> None:
        message.stop()
        self._first_lane.ended(message.run)
        self._index_lane.ended(message.run)

    def _show_index(
        self,
        gen: int,
        query: Query,
        keep_id: int | None,
        ids: array.array,
        items: Sequence[ListedObject] = (),
    ) -> None:
        """Show a complete index (``items``: rows already fetched for its first page)."""
        self._stale = False
        self._loading = False
        self._shown_gen = gen
        self._shown_query = query
        sort, search, drv_only = query
        if search is None:
            self._base = (query, ids, [])
        elif self._base is not None and self._base[0] != (sort, None, drv_only):
            self._base = None  # another sort or filter's: clearing the search will not show it
        self.object_list.set_index(ids, keep_id=keep_id, first_rows=items)
        self._after_index()

    def _after_index(self) -> None:
        if not self.object_list.row_count:
            self.object_list.clear(self._nothing_text())
        self._update_status()

    def _nothing_text(self) -> str:
        what = ".drv objects" if self.drv_only else "objects"
        if self.search:
            return f"No {what} match “{self.search}”: no name contains it and no digest starts with it."
        return f"The store has no {what}."

    def _load_rows(
        self, ids: Sequence[int], deliver: Callable[[Sequence[ListedObject]], None], key: str
    ) -> None:
        """The list's page loader: rows by id, and whether each is on disk."""
        store = self.store

        def fetch() -> list[ListedObject]:
            return [ListedObject(r, store.on_disk(r.path)) for r in store.objects_by_ids(ids)]

        self.load(fetch, deliver, key=key)

    # -- live updates ------------------------------------------------------------------

    def refresh_data(self) -> None:
        """Ask whether the database changed since the index was read (cheap)."""
        if self._token is not None:
            self.load(self.store.data_version, self._version_checked, key="version", quiet=True)

    def _version_checked(self, token: tuple) -> None:
        if self._token is None or token == self._token or self._loading:
            return
        self._base = None
        if self.object_list.row_count <= AUTO_RELOAD_LIMIT:
            self._reload_keeping_cursor()
        else:
            self._stale = True
            self._update_status()

    def _reload_keeping_cursor(self) -> None:
        selected = self.object_list.selected
        self._reload(keep_id=selected.row.id if selected else -1)

    # -- status line -----------------------------------------------------------------

    def _set_label(self, label_id: str, text: str) -> None:
        # A label update repaints (another frame): only when the text changed.
        if self._labels.get(label_id) != text:
            self._labels[label_id] = text
            # Fixed-size labels: skip the layout pass (cursor moves update these).
            self.query_one(f"#{label_id}", Label).update(text, layout=False)

    def _update_status(self) -> None:
        object_list = self.object_list
        count = object_list.row_count
        if self._shown_gen != self._query_gen:
            # The list still shows the previous query's rows: do not count them.
            text = f"Searching “{self.search}”…" if self.search else "Loading objects…"
        else:
            exact = object_list.complete
            kind = ".drv object" if self.drv_only else "object"
            if count == 0 and exact:
                text = f"no {kind} matches “{self.search}”" if self.search else f"no {kind}s"
            else:
                plural = not (count == 1 and exact)
                text = f"{count:,}{'' if exact else '+'} {kind}{'s' if plural else ''}"
                if self.search:
                    text += f" {'match' if plural else 'matches'} “{self.search}”"
            text += f" · {SORT_LABELS[self.sort]}"
            if not exact:
                text += " · counting…"
        if self._stale:
            text += " · the store changed: r reloads"
        self._set_label("objects-status", text)
        self._update_position()

    def _update_position(self) -> None:
        object_list = self.object_list
        count = object_list.row_count
        text = f"{object_list.cursor + 1:,} of {count:,}{'' if object_list.complete else '+'}" if count else ""
        self._set_label("objects-position", text)

    @on(ObjectList.Highlighted)
    def _highlighted(self, event: ObjectList.Highlighted) -> None:
        self._update_position()
        object_list = self.object_list
        # "Copy" is there whenever a row is: a row still loading is copied
        # when it arrives. Refreshing bindings rebuilds the footer (~100
        # widgets restyled), so only when the answer changes.
        can_copy = object_list.row_count > 0
        if can_copy != self._can_copy:
            self._can_copy = can_copy
            self.refresh_bindings()
        wanted = self._copy_wanted
        if wanted is not None:
            if event.item is not None and event.item.row.id == wanted:
                self._copy_wanted = None
                self.zapp.copy_path(event.item.row.path)
            elif object_list.id_at(event.index) != wanted or not object_list.is_loading(event.index):
                self._copy_wanted = None  # the cursor moved on, or the object is gone

    # -- search -----------------------------------------------------------------------

    def _search_term(self, text: str) -> str | None:
        """What to search for, given what the user typed or pasted.

        A pasted store path (or a path inside an object) or a base name
        ``<digest>-name`` searches for its digest, which finds exactly that
        object; anything else is searched as typed.
        """
        text = text.strip()
        if not text:
            return None
        base = text
        store_dir = self.store.store_dir
        if text.startswith(store_dir + "/"):
            base = text[len(store_dir) + 1 :].split("/", 1)[0]
        elif "/" in text:
            base = text.rstrip("/").rsplit("/", 1)[-1]
        digest = base[:DIGEST_LENGTH]
        if len(base) > DIGEST_LENGTH and base[DIGEST_LENGTH] == "-" and _looks_like_digest(digest):
            return digest
        return base

    @on(Input.Changed, "#objects-search")
    def _typed(self, event: Input.Changed) -> None:
        self._search_now()

    def _search_now(self) -> None:
        """Search for what the box holds (no debounce: see `_Lane` for bursts)."""
        term = self._search_term(self.query_one(SearchBox).value)
        if term != self.search:
            self.search = term
            self._reload()

    @on(Input.Submitted, "#objects-search")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter in the search box: jump to the one object meant, or filter."""
        self._search_now()
        text = event.value.strip()
        if not text:
            self.object_list.focus()
            return
        store = self.store
        self.load(partial(store.resolve, text, limit=2), self._resolved, key="resolve")

    def _resolved(self, found: list[str]) -> None:
        if len(found) == 1:
            self.zapp.open_object(found[0])
        elif self.object_list.row_count or not self.object_list.complete:
            self.object_list.focus()
        else:
            self.notify("No known path matches.", title="Search", timeout=4)

    # -- options from other screens -------------------------------------------------------

    def apply_options(
        self, *, search: str | None = None, sort: str | None = None, drv_only: bool | None = None, **_: object
    ) -> None:
        """Set the search, sort and filter (``show_section("objects", sort="size")``)."""
        if sort in ("name", "size"):
            self.sort = sort
        if drv_only is not None:
            self.drv_only = drv_only
        box = self.query_one(SearchBox)
        if search is not None:
            box.value = search
        # Setting the value posts Input.Changed; with self.search already set
        # to the same term, its search is a no-op.
        self.search = self._search_term(box.value)
        self._reload()
        self.object_list.focus()

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy":
            return self._can_copy
        return True

    def action_focus_search(self) -> None:
        if self.zapp.type_into_focused_input("/"):
            return  # typing a path into a text field
        # At once (``focus()`` waits for the next idle): the letters typed
        # right after "/", in the same burst, must go to the search box.
        self.set_focus(self.query_one(SearchBox))

    def action_toggle_sort(self) -> None:
        self._set_sort("size" if self.sort == "name" else "name")

    def _set_sort(self, sort: str) -> None:
        self.sort = sort
        self._reload()

    @on(ObjectList.SortClicked)
    def _sort_clicked(self, event: ObjectList.SortClicked) -> None:
        if event.sort != self.sort:
            self._set_sort(event.sort)

    def action_toggle_drv(self) -> None:
        self.drv_only = not self.drv_only
        self._reload()

    def action_reload(self) -> None:
        self._base = None
        self._reload_keeping_cursor()

    def action_copy(self) -> None:
        object_list = self.object_list
        selected = object_list.selected
        if selected is not None:
            self._copy_wanted = None
            self.zapp.copy_path(selected.row.path)
        elif object_list.is_loading(object_list.cursor):
            self._copy_wanted = object_list.id_at(object_list.cursor)  # copied when its page arrives

    @on(ObjectList.Opened)
    def _opened(self, event: ObjectList.Opened) -> None:
        self.zapp.open_object(event.item.row.path)

    def palette_commands(self) -> Iterable[SystemCommand]:
        other = "name" if self.sort == "size" else "size"
        yield SystemCommand(f"objects: Sort by {other}", "Change the order of the objects list", self.action_toggle_sort)
        yield SystemCommand(
            "objects: Everything" if self.drv_only else "objects: Only .drv",
            "Show only derivations, or every object",
            self.action_toggle_drv,
        )
        yield SystemCommand("objects: Reload", "Read the list again from the database", self.action_reload)
