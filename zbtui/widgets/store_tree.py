"""A lazy tree of references (or referrers) of a store object.

Children are fetched only when a node is expanded, one page at a time, in a
thread worker (through the screen's loader): a short first page, then the
next ones as their "… n more" line nears the view (or on Enter there). Like
``nix-store -q --tree``, a path already present in the tree is not expanded a
second time: it is marked "◌ shown above" (its ``[...]``), and ``f`` jumps to
where it is expanded. A self-reference (zb source objects may refer to
themselves) is a marked leaf.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

from rich.text import Text
from textual import on
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from ..format import human_size
from ..store.errors import QueryCancelled, StoreError
from ..store.formats import split_store_path
from ..store.models import Edge, Page
from .theme import theme_style

if TYPE_CHECKING:
    from ..app import ZbtuiApp

__all__ = ["Direction", "Loader", "NodeData", "NodeKind", "StoreTree"]

PAGE_SIZE = 200
"""Children fetched per "more" leaf after the first page: several screens'
worth, yet small enough to add to the tree without a visible pause."""

FIRST_PAGE_SIZE = 50
"""Children fetched when a node is first expanded (at most ``PAGE_SIZE``): a
couple of screens, so the first lines show sooner; more load as they scroll
into view."""

AUTO_LOAD_SCREENS = 1
"""A "more" line this many screens below the view (or nearer) loads its page."""

DIGEST_PREVIEW = 7
"""Digest characters shown after the name: enough to tell two builds of one name apart."""

Direction = Literal["references", "referrers"]


class Loader(Protocol):
    """``StoreScreen.load``: run ``fetch`` in a thread, hand the result to ``deliver``."""

    def __call__(
        self, fetch: Callable[[], Any], deliver: Callable[[Any], None], *, key: str
    ) -> None: ...


class NodeKind(StrEnum):
    """What a tree line is."""

    OBJECT = "object"
    """A path whose own children can be fetched (or it has none)."""
    SELF = "self"
    """An edge from the object to itself."""
    SHOWN = "shown"
    """A path already in the tree elsewhere: not expanded again."""
    MORE = "more"
    """Enter fetches the next page of its parent's children."""
    LOADING = "loading"
    """A fetch is under way."""
    NOTE = "note"
    """Information only ("no references", a load error to retry)."""


@dataclass
class NodeData:
    """What the tree keeps per line.

    Attributes:
        kind: What the line is.
        path: The store path (None for "more", "loading" and notes).
        total: How many children the path has, self excluded (from the
            parent's edge ``child_count``), when known.
        loaded: The first page of children was fetched.
        loading: A fetch is running for this node.
        next_key: Key of the next page, or None when everything is loaded.
        fetched: Children (self excluded) added so far.
        original: For ``SHOWN``: the node where the path is expandable.
        retry: For a ``NOTE`` left by a failed fetch: the node to fetch again.
    """

    kind: NodeKind
    path: str | None = None
    total: int | None = None
    loaded: bool = False
    loading: bool = False
    next_key: tuple | None = None
    fetched: int = 0
    original: TreeNode[NodeData] | None = None
    retry: TreeNode[NodeData] | None = None


@dataclass(frozen=True, slots=True)
class _Failed:
    """A fetch failed with a store error; the tree shows it in place."""

    error: str


class StoreTree(Tree[NodeData]):
    """References or referrers of one object, loaded lazily, one page at a time."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            tooltip="Open the object (or load the next page on a “more” line)",
        ),
        Binding("space", "toggle_node", "Expand", tooltip="Expand or collapse the node"),
        Binding(
            "right", "expand_node", "Expand", show=False, tooltip="Expand, or go to the first child"
        ),
        Binding(
            "left", "collapse_node", "Collapse", show=False, tooltip="Collapse, or go to the parent"
        ),
        Binding(
            "y",
            "copy_path",
            "Copy path",
            tooltip="Copy the path under the cursor, or this object's on other lines (OSC 52)",
        ),
        Binding(
            "f",
            "jump_original",
            "Find first",
            tooltip="Jump to where a “shown above” path is expanded",
        ),
    ]

    _binding_state: tuple[bool, bool] | None = None
    """What check_action answered last (the cursor watcher can run during __init__)."""

    def __init__(
        self,
        direction: Direction,
        loader: Loader,
        *,
        path: str | None = None,
        id: str | None = None,
    ) -> None:
        """``path``: the object whose tree this will be (``set_root`` loads it); until
        then, ``y`` copies it."""
        super().__init__("", NodeData(NodeKind.NOTE, path=path), id=id)
        self.direction: Direction = direction
        self.loader = loader
        self.show_root = False
        self.auto_expand = False
        self.guide_depth = 3  # Narrower than the default 4: deep chains must fit 80 columns.
        self._shown: dict[str, TreeNode[NodeData]] = {}
        self._generation = 0
        self._more_check_pending = False

    @property
    def zapp(self) -> ZbtuiApp:
        return cast("ZbtuiApp", self.app)

    # -- building ---------------------------------------------------------------

    def set_root(self, path: str, total: int | None) -> None:
        """Show the children of ``path`` (``total`` of them, self excluded, when known)."""
        self._generation += 1
        self._shown = {}
        self.reset(path, NodeData(NodeKind.OBJECT, path=path, total=total))
        self._shown[path] = self.root
        self.root.expand()
        self._load(self.root)

    def set_total(self, total: int) -> None:
        """The root's child count, learnt after ``set_root`` (for its "more" line)."""
        data = self.root.data
        if data is None or data.kind != NodeKind.OBJECT or data.total == total:
            return
        data.total = total
        last = self.root.children[-1] if self.root.children else None
        if last is not None and last.data is not None and last.data.kind == NodeKind.MORE:
            last.set_label(self._more_label(data))

    def _more_label(self, data: NodeData) -> Text:
        left = f"{data.total - data.fetched:,} more" if data.total is not None else "more"
        return self._note(f"… {left} (Enter to load)", self._colour("accent"))

    def _label(self, edge: Edge, marker: Text | None = None) -> Text:
        _dir, digest, name = split_store_path(edge.path)
        # Leaves have no ▶/▼ icon: indent them as much so names line up.
        label = Text(("" if edge.child_count and marker is None else "  ") + (name or edge.path))
        if digest:
            label.append(f"  {digest[:DIGEST_PREVIEW]}", style="dim")
        label.append("  ")
        if edge.nar_size is None:
            label.append("absent", style=self._colour("warning"))
        else:
            label.append(human_size(edge.nar_size), style="dim")
        if marker is not None:
            label.append("  ")
            label.append_text(marker)
        elif edge.child_count:
            arrow = "↳" if self.direction == "references" else "↰"
            label.append(f"  {arrow} {edge.child_count}", style=self._colour("accent"))
        return label

    def _colour(self, name: str) -> str:
        return theme_style(self.app, name)

    def _note(self, text: str, style: str = "dim") -> Text:
        return Text(text, style=style)

    def _load(self, node: TreeNode[NodeData], more: TreeNode[NodeData] | None = None) -> None:
        """Fetch the next page of ``node``'s children; ``more`` is the leaf that asked."""
        data = node.data
        assert data is not None and data.path is not None
        if data.loading:
            return
        data.loading = True
        if more is not None:
            more.data = NodeData(NodeKind.LOADING)
            more.set_label(self._note("loading…"))
            placeholder = more
        else:
            placeholder = node.add_leaf(self._note("loading…"), NodeData(NodeKind.LOADING))
        store = self.zapp.store
        query = store.references if self.direction == "references" else store.referrers
        path, after, generation = data.path, data.next_key, self._generation
        limit = PAGE_SIZE if data.loaded else min(FIRST_PAGE_SIZE, PAGE_SIZE)

        def fetch() -> Page[Edge] | _Failed:
            try:
                return query(path, after=after, limit=limit)
            except QueryCancelled:
                raise
            except StoreError as exc:
                return _Failed(str(exc))

        def deliver(page: Page[Edge] | _Failed) -> None:
            if generation == self._generation:
                self._populate(node, placeholder, page)

        self.loader(fetch, deliver, key=f"{self.id or 'tree'}-{self._generation}-{node.id}")

    def _alive(self, node: TreeNode[NodeData]) -> bool:
        if node is self.root:
            # clear() makes a new root without registering it by id.
            return True
        try:
            return self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            return False

    def _populate(
        self, node: TreeNode[NodeData], placeholder: TreeNode[NodeData], page: Page[Edge] | _Failed
    ) -> None:
        if not self._alive(node):
            return
        data = node.data
        assert data is not None
        data.loading = False
        if self._alive(placeholder):
            placeholder.remove()
        if isinstance(page, _Failed):
            self.notify(page.error, title="Store", severity="error", timeout=8)
            node.add_leaf(
                self._note(
                    f"⚠ could not load ({page.error}); Enter to retry", self._colour("error")
                ),
                NodeData(NodeKind.NOTE, retry=node),
            )
            return
        data.loaded = True
        data.next_key = page.next_key
        # One page (≤ PAGE_SIZE nodes) is added in one go on the UI thread, so
        # no tree.lock or chunking is needed: nothing else mutates the tree meanwhile.
        for edge in page.items:
            self._add_child(node, edge)
        if page.next_key is not None:
            node.add_leaf(self._more_label(data), NodeData(NodeKind.MORE))
        if node is self.root and self.cursor_line < 0 and node.children:
            self.cursor_line = 0
        if not node.children:
            if node is self.root:
                # The root is hidden: say it in a line rather than show nothing.
                what = "references" if self.direction == "references" else "referrers"
                node.add_leaf(self._note(f"No {what}."), NodeData(NodeKind.NOTE))
            else:
                node.allow_expand = False
        node.refresh()
        if page.next_key is not None:
            self._check_more()  # the view may already reach the new "more" line

    # -- loading as the view nears a "more" line -------------------------------------

    def _check_more(self) -> None:
        """Soon (once, after the next refresh): load pages whose "more" line is near the view."""
        if not self._more_check_pending:
            self._more_check_pending = True
            self.call_after_refresh(self._load_near_more)

    def _load_near_more(self) -> None:
        self._more_check_pending = False
        if not self.is_attached or not self.region:
            return  # not on screen (a hidden tab): checked again when shown
        height = max(1, self.scrollable_content_region.height)
        top = max(0, int(self.scroll_y))
        end = min(top + height * (1 + AUTO_LOAD_SCREENS), self.last_line + 1)
        for line in range(top, end):
            more = self.get_node_at_line(line)
            if (
                more is not None
                and more.data is not None
                and more.data.kind == NodeKind.MORE
                and more.parent is not None
            ):
                self._load(more.parent, more=more)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._check_more()

    def on_resize(self) -> None:
        self._check_more()

    def on_show(self) -> None:
        self._check_more()

    def _add_child(self, parent: TreeNode[NodeData], edge: Edge) -> None:
        parent_data = parent.data
        assert parent_data is not None
        if edge.is_self:
            marker = Text("↺ self", style=f"bold {self._colour('warning')}")
            parent.add_leaf(self._label(edge, marker), NodeData(NodeKind.SELF, path=edge.path))
            return
        parent_data.fetched += 1
        original = self._shown.get(edge.path)
        if original is not None:
            where = "above" if _before(original, parent) else "below"
            marker = Text(f"◌ shown {where}", style=self._colour("text-muted"))
            parent.add_leaf(
                self._label(edge, marker),
                NodeData(NodeKind.SHOWN, path=edge.path, original=original),
            )
            return
        data = NodeData(NodeKind.OBJECT, path=edge.path, total=edge.child_count)
        if edge.child_count:
            child = parent.add(self._label(edge), data, allow_expand=True)
        else:
            data.loaded = True
            child = parent.add_leaf(self._label(edge), data)
        self._shown[edge.path] = child

    # -- events and actions -------------------------------------------------------

    @on(Tree.NodeExpanded)
    def _expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        event.stop()
        data = event.node.data
        if (
            data is not None
            and data.kind == NodeKind.OBJECT
            and not data.loaded
            and not data.loading
        ):
            self._load(event.node)

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        event.stop()
        node = event.node
        data = node.data
        if data is None:
            return
        if data.kind == NodeKind.MORE and node.parent is not None:
            self._load(node.parent, more=node)
        elif data.kind == NodeKind.NOTE and data.retry is not None:
            target = data.retry
            node.remove()
            self._load(target)
        elif data.path is not None:
            self.zapp.open_object(data.path)

    def _copy_target(self) -> str | None:
        """The path under the cursor; on a "more", "loading" or note line, the root's."""
        node = self.cursor_node
        if node is not None and node.data is not None and node.data.path is not None:
            return node.data.path
        return self.root.data.path if self.root.data is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "copy_path":
            # Answered by the root too, so the footer does not change (and get
            # rebuilt) as the cursor crosses "more" and "loading" lines.
            return self._copy_target() is not None
        if action == "jump_original":
            node = self.cursor_node
            return node is not None and node.data is not None and node.data.kind == NodeKind.SHOWN
        return True

    def watch_cursor_line(self, previous_line: int, line: int) -> None:
        super().watch_cursor_line(previous_line, line)
        # Refreshing bindings may rebuild the Footer: do it only when what
        # check_action answers changes, not on every cursor move.
        node = self.cursor_node
        data = node.data if node is not None else None
        state = (
            self._copy_target() is not None,
            data is not None and data.kind == NodeKind.SHOWN,
        )
        if state != self._binding_state:
            self._binding_state = state
            if self.has_focus:  # focusing refreshes them anyway
                self.refresh_bindings()

    def action_copy_path(self) -> None:
        path = self._copy_target()
        if path is not None:
            self.zapp.copy_path(path)

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and not node.is_expanded:
            node.expand()
        elif node.is_expanded and node.children:
            self.move_cursor(node.children[0])

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def action_jump_original(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None or node.data.original is None:
            return
        target = node.data.original
        if not self._alive(target):
            return
        ancestor = target.parent
        while ancestor is not None:
            ancestor.expand()
            ancestor = ancestor.parent
        # The tree rebuilds its lines on the next refresh; move once it has.
        self.call_after_refresh(self.move_cursor, target)


def _position(node: TreeNode[NodeData]) -> list[int]:
    """Sibling indexes from the root down to ``node``: its place in pre-order."""
    indexes: list[int] = []
    while node.parent is not None:
        indexes.append(node.parent.children.index(node))
        node = node.parent
    return indexes[::-1]


def _before(original: TreeNode[NodeData], parent: TreeNode[NodeData]) -> bool:
    """Whether ``original`` comes before a new last child of ``parent`` in pre-order."""
    position = _position(original)
    new = _position(parent) + [len(parent.children)]
    return position < new
