"""A virtual list of store objects: an id index plus an LRU cache of pages.

A store may hold a million objects. This widget never builds a row (or a
widget) per object: it keeps the ids of the listed objects, in display order,
as one ``array("q")`` (8 bytes each), and the rows of the pages the user has
looked at recently. It is a Line-API ``ScrollView``: each visible line is drawn
on demand from the cache, and a line whose page is not loaded yet is drawn as
a dim placeholder while the page is fetched off the UI thread.

Line 0 is a fixed column header; the rows start at line 1, so row ``i`` is
drawn when ``scroll_y + line - 1 == i``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import ClassVar, Protocol

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..format import human_size
from ..store.models import ObjectRow

__all__ = ["PAGE_SIZE", "ListedObject", "ObjectList", "RowLoader"]

PAGE_SIZE = 200
"""Rows per fetched page. One page is one ``objects_by_ids`` query (under its
500-id chunk) that takes about a millisecond even on a million-object store,
plus 200 on-disk checks; it covers about five screens of 40 lines, so
scrolling rarely waits, while a jump anywhere costs one short query."""

MAX_PAGES = 16
"""Pages kept in the LRU cache: 3,200 rows, about 100 screens around where the
user is, ~1 MB and ~6,000 Python objects (64 pages were 4 MB and 25,000
objects, every one of them scanned by each full garbage collection, which
then paused the UI for longer). A page evicted costs one short query again."""

PREFETCH_MARGIN = 60
"""Also fetch the page of any row within this many rows of the visible ones,
so that ordinary scrolling finds its rows already loaded."""

STRIP_CACHE_SIZE = 256
"""Rendered rows kept (least recently drawn dropped first): several screens,
with and without the cursor, so moving the cursor redraws two rows and
scrolling back a few screens redraws nothing new. A strip, with its caches
and the strips Textual derives from it, is ~27 Python objects: 1,000 of them
weighed on every full garbage collection."""

DIGEST_CHARS = 7
"""Digest characters shown after a name: enough to tell two builds of the same
name apart (like ``git``'s short hashes)."""

MARK_WIDTH = 4
"""The ``.drv`` marker column: ``drv`` and a space."""

SIZE_WIDTH = 10
"""The NAR size column: ``1023.9 MiB`` is the widest `human_size` gets."""

DISK_WIDTH = 8
"""The on-disk column: two spaces and ``absent``."""

ABSENT = "absent"
"""The marker of an object whose files are not in the store directory."""


@dataclass(frozen=True, slots=True)
class ListedObject:
    """One row of the list, with what the page fetch found on disk.

    Attributes:
        row: The object (id, path, NAR size).
        on_disk: Whether its path exists under the real store directory
            (checked in the fetch thread: it is a filesystem call).
    """

    row: ObjectRow
    on_disk: bool


class RowLoader(Protocol):
    """Fetches the rows of some ids off the UI thread (the owning screen's loader).

    ``deliver`` is called on the UI thread with the rows found, in the order
    asked (ids that are no longer objects are left out). ``key`` names the
    request; a new request with the same key supersedes the previous one.
    """

    def __call__(self, ids: Sequence[int], deliver: Callable[[Sequence[ListedObject]], None], key: str) -> None: ...


@dataclass(slots=True)
class _Page:
    """A cached page: the ids it was fetched for, and the rows found by id."""

    ids: tuple[int, ...]
    rows: dict[int, ListedObject]


def _printable(text: str) -> str:
    """``text`` with anything a terminal would interpret replaced by U+FFFD.

    Store paths are validated by zb, but a damaged or hostile database can
    hold anything, and a control character in a name must not reach the
    terminal.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else "\ufffd" for c in text)


class ObjectList(ScrollView, can_focus=True, inherit_bindings=False):
    """Every listed object, one line each, scrolled without per-row widgets."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", tooltip="Open the selected object"),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "object-list--header",
        "object-list--cursor",
        "object-list--drv",
        "object-list--digest",
        "object-list--absent",
        "object-list--placeholder",
    }
    """
    | Class | Description |
    | :- | :- |
    | `object-list--header` | The fixed column header line. |
    | `object-list--cursor` | The selected row. |
    | `object-list--drv` | The `drv` marker of a derivation. |
    | `object-list--digest` | The short digest after a name. |
    | `object-list--absent` | The "absent" marker of an object missing on disk. |
    | `object-list--placeholder` | A row whose page is still loading, and messages. |
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    """Index (in display order) of the selected row."""

    sort: reactive[str] = reactive("name")
    """The order the index is in (``name`` or ``size``): shown in the header."""

    class Highlighted(Message):
        """The cursor moved (or the row under it arrived)."""

        def __init__(self, object_list: ObjectList, index: int, item: ListedObject | None) -> None:
            super().__init__()
            self.object_list = object_list
            self.index = index
            """Row index of the cursor."""
            self.item = item
            """The row under the cursor, None while its page is loading."""

        @property
        def control(self) -> ObjectList:
            return self.object_list

    class Opened(Message):
        """The user opened a row (Enter or a double click)."""

        def __init__(self, object_list: ObjectList, item: ListedObject) -> None:
            super().__init__()
            self.object_list = object_list
            self.item = item

        @property
        def control(self) -> ObjectList:
            return self.object_list

    class SortClicked(Message):
        """The user clicked a sortable column header."""

        def __init__(self, object_list: ObjectList, sort: str) -> None:
            super().__init__()
            self.object_list = object_list
            self.sort = sort

        @property
        def control(self) -> ObjectList:
            return self.object_list

    def __init__(
        self,
        loader: RowLoader,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create an empty list.

        Args:
            loader: Fetches the rows of a page off the UI thread.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._loader = loader
        self._ids: Sequence[int] = ()
        """The index: ids of every listed object, in display order."""
        self._complete = False
        """False while ``_ids`` is only the provisional first page."""
        self._more = False
        """The provisional first page is followed by more rows, not yet indexed."""
        self._generation = 0
        """Bumped with every new index, so late pages of an old one are dropped."""
        self._pages: OrderedDict[int, _Page] = OrderedDict()
        """LRU cache of pages by page number (most recently used last)."""
        self._pending: set[int] = set()
        """Pages requested for the current generation and not yet delivered."""
        self._ensure_scheduled = False
        self._parts: dict[str, Style] = {}
        """Cache of `_part` styles, cleared when styles change."""
        self._strips: OrderedDict[tuple[ListedObject, bool, int], Strip] = OrderedDict()
        """Rendered rows by (row, under the cursor, width). Keyed by the row
        itself, not its id, so a row fetched again with another on-disk state
        or size renders afresh, and rows survive new indexes (the next
        keystroke's search shares most of them)."""
        self._frame: tuple[int, Style, Style] | None = None
        """Width, row style and cursor style while a frame renders."""
        self.message = "Loading…"
        """Shown instead of rows when there are none (loading, nothing matches)."""

    # -- content ---------------------------------------------------------------

    @property
    def row_count(self) -> int:
        """Rows in the index (only the first page's while provisional)."""
        return len(self._ids)

    @property
    def complete(self) -> bool:
        """Whether the index covers every listed object (not just the first page)."""
        return self._complete

    @property
    def ids(self) -> Sequence[int]:
        """The index (read-only by convention)."""
        return self._ids

    def id_at(self, index: int) -> int | None:
        """The id of the object at ``index`` (loaded or not)."""
        return self._ids[index] if 0 <= index < len(self._ids) else None

    def is_loading(self, index: int) -> bool:
        """Whether ``index`` is a row whose page has not arrived yet."""
        return 0 <= index < len(self._ids) and index // PAGE_SIZE not in self._pages

    def page_items(self, number: int) -> list[ListedObject]:
        """The rows of page ``number`` in order, if it is loaded (else empty)."""
        page = self._pages.get(number)
        if page is None:
            return []
        return [item for i in page.ids if (item := page.rows.get(i)) is not None]

    def item_at(self, index: int) -> ListedObject | None:
        """The row at ``index`` if its page is loaded."""
        if not 0 <= index < len(self._ids):
            return None
        page = self._pages.get(index // PAGE_SIZE)
        if page is None:
            return None
        return page.rows.get(self._ids[index])

    @property
    def selected(self) -> ListedObject | None:
        """The row under the cursor, if loaded."""
        return self.item_at(self.cursor)

    def show_first_page(self, items: Sequence[ListedObject], *, more: bool) -> None:
        """Show one page right away, before the whole index is known.

        Args:
            items: The first rows in display order.
            more: More rows follow (the index query will say how many).
        """
        ids = [item.row.id for item in items]
        # Without more rows, the first page is the whole list.
        self._replace_index(ids, complete=not more, more=more, cursor=0)
        self._store_page(0, tuple(ids), items)
        self._post_highlighted()
        self.refresh()

    def set_index(
        self, ids: Sequence[int], *, keep_id: int | None = None, first_rows: Sequence[ListedObject] = ()
    ) -> None:
        """Replace the index with the complete one.

        Cached pages whose ids are unchanged stay (the provisional first page
        of the same query, or everything not touched by a live reload).

        Args:
            ids: Every listed id in display order (an ``array("q")``).
            keep_id: Keep the cursor on this object, at the same height on
                screen, if it is still listed; otherwise the cursor goes to the
                top.
            first_rows: The rows of the first page, when already fetched.
        """
        cursor = 0
        offset = 0
        if keep_id is not None:
            offset = self.cursor - round(self.scroll_y)
            try:
                cursor = ids.index(keep_id)  # a C-speed scan, a few ms for 1M ids
            except ValueError:
                cursor = min(self.cursor, max(0, len(ids) - 1))
        self._replace_index(ids, complete=True, more=False, cursor=cursor, screen_offset=offset)
        if first_rows:
            self._store_page(0, tuple(ids[:PAGE_SIZE]), first_rows)
        self._post_highlighted()
        self.refresh()

    def _replace_index(
        self, ids: Sequence[int], *, complete: bool, more: bool, cursor: int, screen_offset: int = 0
    ) -> None:
        self._generation += 1
        self._pending.clear()
        for number, page in list(self._pages.items()):
            if tuple(ids[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]) != page.ids:
                del self._pages[number]
        self._ids = ids
        self._complete = complete
        self._more = more
        self.virtual_size = Size(0, self._line_count())
        self.set_reactive(ObjectList.cursor, max(0, min(cursor, len(ids) - 1)))
        self._scroll_to_line(max(0, self.cursor - screen_offset))
        self._schedule_ensure()

    def _line_count(self) -> int:
        rows = len(self._ids) if self._ids else 1  # one line for the message
        return 1 + rows + (1 if self._more else 0)

    def clear(self, message: str) -> None:
        """Show no rows, only ``message`` (an empty result, an error)."""
        self.message = message
        self._replace_index((), complete=True, more=False, cursor=0)
        self._post_highlighted()
        self.refresh()

    # -- pages -------------------------------------------------------------------

    def _store_page(self, number: int, ids: tuple[int, ...], items: Sequence[ListedObject]) -> None:
        self._pages[number] = _Page(ids, {item.row.id: item for item in items})
        self._pages.move_to_end(number)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)

    def _visible_rows(self) -> tuple[int, int]:
        """First and last-plus-one row index on screen."""
        top = round(self.scroll_y)
        return top, top + self._page_height()

    def _page_height(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _schedule_ensure(self) -> None:
        if not self._ensure_scheduled:
            self._ensure_scheduled = True
            self.call_later(self._ensure_pages)

    def _ensure_pages(self) -> None:
        """Request every page near the visible rows that is neither cached nor on its way."""
        self._ensure_scheduled = False
        if not self._ids:
            return
        top, bottom = self._visible_rows()
        first = max(0, top - PREFETCH_MARGIN) // PAGE_SIZE
        last = min(len(self._ids) - 1, bottom + PREFETCH_MARGIN) // PAGE_SIZE
        # The cursor's page too: Enter and y need its row even before a scroll lands.
        for number in {*range(first, last + 1), self.cursor // PAGE_SIZE}:
            if number in self._pages:
                self._pages.move_to_end(number)
            elif number not in self._pending:
                self._request(number)

    def _request(self, number: int) -> None:
        ids = tuple(self._ids[number * PAGE_SIZE : (number + 1) * PAGE_SIZE])
        self._pending.add(number)
        deliver = partial(self._page_arrived, self._generation, number, ids)
        self._loader(ids, deliver, f"rows-{number}")

    def _page_arrived(self, generation: int, number: int, ids: tuple[int, ...], items: Sequence[ListedObject]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(number)
        self._store_page(number, ids, items)
        # Repaint only the rows of this page on screen: most pages arrive
        # ahead of the scrolling (PREFETCH_MARGIN), when none of them is.
        top, bottom = self._visible_rows()
        first = max(top, number * PAGE_SIZE)
        last = min(bottom, number * PAGE_SIZE + len(ids))
        if first < last:
            self.refresh(Region(0, first - top + 1, self.size.width, last - first))
        if self.cursor // PAGE_SIZE == number:
            self._post_highlighted()

    # -- scrolling and the cursor ----------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._schedule_ensure()

    def on_resize(self, event: events.Resize) -> None:
        self._schedule_ensure()

    def _scroll_to_line(self, y: int) -> None:
        # force: right after a new index the scrollbar, which otherwise gates
        # scrolling, only appears at the next layout; the scroll must not wait.
        self.scroll_to(y=y, animate=False, force=True)

    def watch_cursor(self, old: int, new: int) -> None:
        top, bottom = self._visible_rows()
        if new < top:
            self._scroll_to_line(new)
        elif new >= bottom:
            self._scroll_to_line(new - self._page_height() + 1)
        else:
            # No scroll: only the rows the cursor left and reached change.
            for index in (old, new):
                self.refresh(Region(0, index - top + 1, self.size.width, 1))
        self._schedule_ensure()
        self._post_highlighted()

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._ids) - 1))

    def _post_highlighted(self) -> None:
        self.post_message(self.Highlighted(self, self.cursor, self.selected))

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        step = self._page_height()
        self._scroll_to_line(max(0, round(self.scroll_y) - step))
        self.cursor -= step

    def action_page_down(self) -> None:
        step = self._page_height()
        self._scroll_to_line(round(self.scroll_y) + step)
        self.cursor += step

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = len(self._ids) - 1

    def action_open(self) -> None:
        item = self.selected
        if item is not None:
            self.post_message(self.Opened(self, item))

    async def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        event.stop()
        if offset.y == 0:
            sort = self._header_hit(offset.x)
            if sort is not None:
                self.post_message(self.SortClicked(self, sort))
            return
        index = round(self.scroll_y) + offset.y - 1
        if 0 <= index < len(self._ids):
            self.cursor = index
            if event.chain >= 2:
                self.action_open()

    def _header_hit(self, x: int) -> str | None:
        """Which sortable column header is at column ``x``."""
        width = self.scrollable_content_region.width
        size_end = width - DISK_WIDTH
        if size_end - SIZE_WIDTH - 2 <= x < size_end:
            return "size"
        if MARK_WIDTH <= x < size_end - SIZE_WIDTH - 2:
            return "name"
        return None

    # -- focus changes the cursor's style ------------------------------------------

    def _on_focus(self, event: events.Focus) -> None:
        super()._on_focus(event)
        self._strips.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        super()._on_blur(event)
        self._strips.clear()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._parts = {}
        self._strips.clear()
        self.refresh()

    # -- drawing -------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # Styles resolved once per frame, not per line (rich_style walks the DOM).
        self._frame = (
            self.scrollable_content_region.width,
            self.rich_style,
            self.rich_style + self.get_component_rich_style("object-list--cursor"),
        )
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def render_line(self, y: int) -> Strip:
        width, base, cursor_style = self._frame or (
            self.scrollable_content_region.width,
            self.rich_style,
            self.rich_style + self.get_component_rich_style("object-list--cursor"),
        )
        if y == 0:
            return self._header(width, base)
        index = round(self.scroll_y) + y - 1
        if not self._ids:
            if index == 0:
                return self._note(self.message, width, base)
            return Strip.blank(width, base)
        if index >= len(self._ids):
            if index == len(self._ids) and self._more:
                return self._note("… counting the rest", width, base)
            return Strip.blank(width, base)
        page = self._pages.get(index // PAGE_SIZE)
        style = cursor_style if index == self.cursor else base
        if page is None:
            self._schedule_ensure()
            return self._note("…", width, style)
        item = page.rows.get(self._ids[index])
        if item is None:
            return self._note("(no longer in the store)", width, style)
        key = (item, index == self.cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._row(item, width, style)
            if len(self._strips) > STRIP_CACHE_SIZE:
                self._strips.popitem(last=False)
        else:
            self._strips.move_to_end(key)
        return strip

    def _part(self, name: str) -> Style:
        """The foreground and attributes of a component, to lay over a row's style.

        Taken from the full style, so colours such as ``$text-muted`` are
        resolved against the list's background; the background is left out so
        the cursor's shows through.
        """
        part = self._parts.get(name)
        if part is None:
            full = self.get_component_rich_style(name)
            part = Style(color=full.color, bold=full.bold, italic=full.italic, dim=full.dim)
            self._parts[name] = part
        return part

    def _note(self, text: str, width: int, style: Style) -> Strip:
        note = style + self._part("object-list--placeholder")
        segments = [Segment(" " * MARK_WIDTH, style), Segment(text, note)]
        return Strip(segments).adjust_cell_length(width, style)

    def _header(self, width: int, base: Style) -> Strip:
        style = base + self.get_component_rich_style("object-list--header")
        name = "name ▲" if self.sort == "name" else "name"
        size = "▼ NAR size" if self.sort == "size" else "NAR size"
        name_width = max(0, width - MARK_WIDTH - SIZE_WIDTH - DISK_WIDTH)
        text = (
            " " * MARK_WIDTH
            + set_cell_size(name, name_width)
            + size.rjust(SIZE_WIDTH)
            + "on disk".rjust(DISK_WIDTH)
        )
        return Strip([Segment(text, style)]).adjust_cell_length(width, style)

    def _row(self, item: ListedObject, width: int, style: Style) -> Strip:
        row = item.row
        segments = [
            Segment("drv " if row.is_drv else " " * MARK_WIDTH, style + self._part("object-list--drv")),
        ]
        name_width = max(0, width - MARK_WIDTH - SIZE_WIDTH - DISK_WIDTH)
        name = _printable(row.name or row.path)
        digest = _printable(row.digest[:DIGEST_CHARS])
        tail = f" {digest}" if digest else ""
        if cell_len(name) + cell_len(tail) + 1 > name_width:
            # Shorten the name, not the digest: the digest is what tells two
            # objects of the same long name apart.
            room = name_width - cell_len(tail) - 1
            if room >= 8:  # below this a cut name says nothing; drop the digest instead
                name = set_cell_size(name, room - 1) + "…"
            else:
                tail = ""
                name = set_cell_size(name, max(0, name_width - 2)) + "…"
        used = cell_len(name) + cell_len(tail)
        segments.append(Segment(name, style))
        segments.append(Segment(tail, style + self._part("object-list--digest")))
        segments.append(Segment(" " * max(0, name_width - used), style))
        segments.append(Segment(human_size(row.nar_size).rjust(SIZE_WIDTH), style))
        disk = "" if item.on_disk else ABSENT
        segments.append(Segment(disk.rjust(DISK_WIDTH), style + self._part("object-list--absent")))
        return Strip(segments).adjust_cell_length(width, style)
