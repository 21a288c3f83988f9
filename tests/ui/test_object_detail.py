"""Pilot tests of the object detail: metadata, lazy trees, why-depends, realizations, builds."""

from __future__ import annotations

import shutil
import threading
from io import StringIO
from pathlib import Path

import pytest
from helpers import REALDATA, open_demo
from rich.console import Console
from rich.text import Text
from textual.widgets import DataTable, Input, Static, TabbedContent
from textual.widgets.tree import TreeNode

import zbtui.widgets.store_tree as store_tree_module
from zbtui.format import exact_size, human_size
from zbtui.screens.object_detail import ObjectDetailScreen
from zbtui.screens.why import WhyScreen
from zbtui.store.errors import StoreError
from zbtui.store.formats import split_store_path
from zbtui.store.open import StoreOptions, open_store
from zbtui.widgets.link_list import LinkList
from zbtui.widgets.store_tree import NodeData, NodeKind, StoreTree

SIZE = (80, 24)
"""The smallest supported terminal: every flow must work there."""


async def settle(pilot, rounds: int = 3) -> None:
    """Wait for workers and for what their results start in turn."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def plain(widget: Static) -> str:
    """The text a Static shows (Rich tables rendered wide, so nothing wraps)."""
    content = widget.content
    if isinstance(content, str):
        return content
    if isinstance(content, Text):
        return content.plain
    console = Console(file=StringIO(), width=300, record=True, color_system=None)
    console.print(content)
    return console.export_text()


def child_paths(node: TreeNode[NodeData], kind: NodeKind | None = None) -> list[str]:
    return [
        c.data.path
        for c in node.children
        if c.data is not None and (kind is None or c.data.kind == kind)
    ]


def lines(widget: LinkList) -> list[str]:
    return [str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)]


async def pick(pilot, path: str) -> None:
    """Paste ``path`` into the why picker and press Enter."""
    pilot.app.screen.query_one("#picker-input", Input).value = path
    await settle(pilot)
    await pilot.press("enter")


async def open_detail(pilot, path: str) -> ObjectDetailScreen:
    pilot.app.open_object(path)
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ObjectDetailScreen)
    assert screen.path == path
    return screen


async def test_metadata_and_lazy_references_tree(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    bash, readline, ncurses, glibc = demo_alive.facts["chain"]
    info = store.object_info(bash)
    assert info is not None and info.nar_hash_value is not None
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, bash)
        meta = plain(screen.query_one("#object-meta-grid", Static))
        assert bash in meta
        assert human_size(info.nar_size) in meta and exact_size(info.nar_size) in meta
        # As stored (SRI for zb) and the other encoding.
        assert info.nar_hash_value.sri in meta and info.nar_hash_value.nix32 in meta
        assert info.content_address is not None and info.content_address.explain() in meta
        closure = demo_alive.facts["closures"][bash]
        assert f"{closure['count']} paths, {human_size(closure['nar_size'])}" in meta
        assert "on disk: yes" in meta
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("references").label.plain == f"References {info.reference_count}"

        # Folding keeps one line of essentials.
        await pilot.press("m")
        folded = plain(screen.query_one("#object-meta-grid", Static))
        assert folded.startswith("bash-5.2p26 ·") and "\n" not in folded
        await pilot.press("m")
        tree = screen.query_one("#object-references", StoreTree)
        top = {c.data.path: c for c in tree.root.children if c.data is not None}
        assert readline in top and glibc in top
        node = top[readline]
        # Lazy: nothing under readline until it is expanded.
        assert node.allow_expand and not node.data.loaded and not node.children
        assert f"↳ {store.object_info(readline).reference_count}" in node.label.plain
        tree.focus()
        tree.move_cursor(node)
        await pilot.press("space")
        await settle(pilot)
        assert node.data.loaded
        assert ncurses in child_paths(node)
        # glibc is already a child of bash: marked, not expanded a second time.
        assert glibc in child_paths(node, NodeKind.SHOWN)
        shown = next(c for c in node.children if c.data.path == glibc)
        assert "◌ shown above" in shown.label.plain and not shown.allow_expand
        # f jumps to where it is expanded.
        tree.move_cursor(shown)
        await pilot.press("f")
        await settle(pilot)
        assert tree.cursor_node is top[glibc]
        # Enter opens the object under the cursor.
        tree.move_cursor(top[readline])
        await pilot.press("enter")
        await settle(pilot)
        assert (
            isinstance(pilot.app.screen, ObjectDetailScreen) and pilot.app.screen.path == readline
        )
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, ObjectDetailScreen)
    store.close()


async def test_self_reference_and_paged_referrers_of_shared_base(
    demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 10 so the shared base's referrers need a "more" leaf, and no
    # loading as it comes into view (test_more_loads_as_it_scrolls_into_view).
    monkeypatch.setattr(store_tree_module, "PAGE_SIZE", 10)
    monkeypatch.setattr(store_tree_module, "AUTO_LOAD_SCREENS", -1)
    store = open_demo(demo_alive)
    base = demo_alive.facts["shared_base"]
    assert base == demo_alive.facts["self_reference_path"]
    count = demo_alive.facts["shared_base_referrers"]
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, base)
        # References: only itself, a marked leaf.
        tree = screen.query_one("#object-references", StoreTree)
        selves = [c for c in tree.root.children if c.data.kind == NodeKind.SELF]
        assert len(selves) == 1 and selves[0].data.path == base
        assert "↺ self" in selves[0].label.plain and not selves[0].allow_expand

        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("referrers").label.plain == f"Referrers {count}"
        # Loaded only when the tab is shown (its empty tree is mounted beforehand).
        assert not any(
            t.root.children for t in screen.query("#object-referrers").results(StoreTree)
        )
        await pilot.press("right_square_bracket")
        await settle(pilot)
        referrers = screen.query_one("#object-referrers", StoreTree)
        assert tabs.active == "referrers" and pilot.app.focused is referrers
        more = referrers.root.children[-1]
        assert more.data.kind == NodeKind.MORE
        loaded = len(child_paths(referrers.root, NodeKind.OBJECT))
        assert 0 < loaded < count
        assert f"… {count - loaded} more (Enter to load)" in more.label.plain
        # y copies the path under the cursor, or this object's on a "more" line.
        referrers.move_cursor(referrers.root.children[0])
        await pilot.press("y")
        assert pilot.app.clipboard == referrers.root.children[0].data.path
        referrers.move_cursor(more)
        await pilot.press("y")
        assert pilot.app.clipboard == base
        while referrers.root.children[-1].data.kind == NodeKind.MORE:
            referrers.move_cursor(referrers.root.children[-1])
            await pilot.press("enter")
            await settle(pilot)
        assert len(child_paths(referrers.root, NodeKind.OBJECT)) == count
        assert base in child_paths(referrers.root, NodeKind.SELF)

        # Switched otherwise (a click, the palette), the keys follow into the tab shown.
        tabs.active = "references"
        await settle(pilot)
        assert pilot.app.focused is tree
    store.close()


async def test_more_loads_as_it_scrolls_into_view(
    demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_tree_module, "PAGE_SIZE", 5)
    monkeypatch.setattr(store_tree_module, "AUTO_LOAD_SCREENS", 0)
    store = open_demo(demo_alive)
    base = demo_alive.facts["shared_base"]
    count = demo_alive.facts["shared_base_referrers"]
    expected = [e.path for e in store.referrers(base, limit=count + 10).items if not e.is_self]
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, base)
        await pilot.press("right_square_bracket")
        await settle(pilot)
        referrers = screen.query_one("#object-referrers", StoreTree)
        height = referrers.scrollable_content_region.height
        assert 5 < height < count  # the test needs several pages on screen, not all
        # Pages load until the "more" line is out of view, and no further.
        more = referrers.root.children[-1]
        assert more.data.kind == NodeKind.MORE
        assert height <= more.line < height + 5
        shown = child_paths(referrers.root, NodeKind.OBJECT)
        assert shown == expected[: len(shown)]
        # Moving down to it brings it into view: the next page loads.
        referrers.move_cursor(more)
        await settle(pilot)
        assert child_paths(referrers.root, NodeKind.OBJECT) == expected[: len(shown) + 5]
        await pilot.press("end")
        for _ in range(10):
            await settle(pilot)
            await pilot.press("end")
        assert child_paths(referrers.root, NodeKind.OBJECT) == expected
        assert referrers.root.children[-1].data.kind != NodeKind.MORE
    store.close()


async def test_why_depends_chain_and_reverse(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    bash, _readline, _ncurses, glibc = demo_alive.facts["chain"]
    expected = store.why(bash, glibc)
    assert expected is not None and expected[0] == bash and expected[-1] == glibc
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, bash)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(pilot.app.screen, WhyScreen)
        await pick(pilot, glibc)
        await settle(pilot)
        assert pilot.app.screen is screen
        assert screen.query_one(TabbedContent).active == "why"
        chain = screen.query_one("#object-why", LinkList)
        shown = lines(chain)
        assert len(shown) == len(expected)
        for line, path in zip(shown, expected, strict=True):
            assert split_store_path(path)[1][:7] in line
        assert "depends on" in plain(screen.query_one("#object-why-hint", Static))
        # Each link (but this object) opens its object.
        assert chain.link is not None and chain.link.path == expected[1]
        await pilot.press("enter")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ObjectDetailScreen) and screen.path == expected[1]
        if screen.path != glibc:
            screen = await open_detail(pilot, glibc)

        # glibc does not depend on bash: said plainly, with the chain the other way.
        await pilot.press("w")
        await pilot.pause()
        await pick(pilot, bash)
        await settle(pilot)
        hint = plain(screen.query_one("#object-why-hint", Static))
        assert "glibc-2.39 does not depend on bash-5.2p26" in hint
        assert len(lines(screen.query_one("#object-why", LinkList))) == len(expected)
    store.close()


def _realization_text(screen: ObjectDetailScreen) -> str:
    return "\n".join(lines(screen.query_one("#object-realizations", LinkList)))


async def show_tab(pilot, screen: ObjectDetailScreen, tab: str) -> None:
    """What the palette's "view: …" commands do: show the tab and focus its content."""
    screen._focus_tab(tab)
    await settle(pilot)
    assert screen.query_one(TabbedContent).active == tab


async def test_realizations_and_builds_tabs(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    glibc = demo_alive.facts["signature_cases"]["both_keys"]
    builds = store.builds_for_path(glibc)
    assert builds
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, glibc)
        # Counted in the background once the metadata is shown; the tabs'
        # widgets are mounted only when they are first shown.
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("realizations").label.plain == "Realizations 1"
        assert tabs.get_tab("builds").label.plain == f"Builds {len(builds)}"
        assert not screen.query("#object-realizations") and not screen.query("#object-builds")

        await pilot.press("left_square_bracket")  # wraps round to the last tab
        await settle(pilot)
        table = screen.query_one("#object-builds", DataTable)
        assert tabs.active == "builds" and pilot.app.focused is table
        assert table.row_count == len(builds)
        assert [str(table.get_cell_at((i, 1))) for i in range(len(builds))] == [
            b.id[:8] for b in builds
        ]

        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert tabs.active == "realizations"
        # Every signature case is covered by the realization tests; this one has two keys.
        text = _realization_text(screen)
        assert "✔ trusted" in text and "✓ valid · untrusted" in text
        assert plain(screen.query_one("#object-trust", Static)).startswith("Trust: 1 trusted key")
        assert pilot.app.focused is screen.query_one("#object-realizations", LinkList)

        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert pilot.app.focused is table
        await pilot.press("enter")
        await settle(pilot)
        assert type(pilot.app.screen).__name__ == "BuildDetailScreen"
    store.close()


async def test_untrusted_store_and_absent_and_unknown_paths(demo_alive, make_app) -> None:
    store = open_demo(demo_alive, trusted=False)
    both = demo_alive.facts["signature_cases"]["both_keys"]
    absent = demo_alive.facts["absent_paths"][0]
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, both)
        await show_tab(pilot, screen, "realizations")
        trust = plain(screen.query_one("#object-trust", Static))
        assert "no trusted keys" in trust and "reuses every recorded realization" in trust
        text = _realization_text(screen)
        assert "✔ trusted" not in text and text.count("✓ valid · untrusted") == 2

        # A path the database knows without an object, then one it does not know.
        screen = await open_detail(pilot, absent)
        meta = plain(screen.query_one("#object-meta-grid", Static))
        assert "known path, not a present object" in meta
        screen = await open_detail(pilot, absent[:-3] + "zzz")
        assert "Unknown path" in plain(screen.query_one("#object-missing", Static))
        assert not screen.query_one(TabbedContent).display
    store.close()


async def test_closure_does_not_wait_for_the_metadata_and_tabs_load_after(
    demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_demo(demo_alive)
    bash = demo_alive.facts["chain"][0]
    closure = demo_alive.facts["closures"][bash]
    release = threading.Event()
    calls: list[str] = []
    object_info = store.object_info

    def held_info(path: str):
        # The metadata arrives only when the test says so: the closure must not wait for it.
        assert release.wait(10)
        calls.append("object_info")
        return object_info(path)

    for name in ("closure", "realizations_for_path", "builds_for_path"):

        def traced(*args, _original=getattr(store, name), _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(store, name, traced)
    monkeypatch.setattr(store, "object_info", held_info)
    async with make_app(store).run_test(size=SIZE) as pilot:
        pilot.app.open_object(bash)
        await pilot.pause()
        screen = pilot.app.screen
        assert isinstance(screen, ObjectDetailScreen)
        for _ in range(200):
            if screen._closure is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        meta = plain(screen.query_one("#object-meta-grid", Static))
        assert "loading…" in meta and f"{closure['count']} paths" in meta
        # Realizations and builds wait until the metadata and the closure are shown.
        assert calls == ["closure"]
        release.set()
        await settle(pilot)
        meta = plain(screen.query_one("#object-meta-grid", Static))
        assert "on disk: yes" in meta and f"{closure['count']} paths" in meta
        assert calls[:2] == ["closure", "object_info"]
        assert sorted(calls[2:]) == ["builds_for_path", "realizations_for_path"]
        tabs = screen.query_one(TabbedContent)
        assert tabs.get_tab("realizations").label.plain.startswith("Realizations ")
    store.close()


async def test_a_failed_tab_load_is_retried_when_the_tab_is_shown(
    demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_demo(demo_alive)
    glibc = demo_alive.facts["signature_cases"]["both_keys"]
    attempts: list[str] = []
    realizations_for_path = store.realizations_for_path

    def flaky(path: str):
        attempts.append(path)
        if len(attempts) <= 2:
            raise StoreError("database is locked")
        return realizations_for_path(path)

    monkeypatch.setattr(store, "realizations_for_path", flaky)
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, glibc)
        tabs = screen.query_one(TabbedContent)
        # The background count failed: no count, nothing shown yet.
        assert attempts == [glibc]
        assert tabs.get_tab("realizations").label.plain == "Realizations"
        # Shown, it is asked again; that fails too, and the tab says so.
        await show_tab(pilot, screen, "realizations")
        assert attempts == [glibc] * 2
        hint = plain(screen.query_one("#object-realizations-hint", Static))
        assert hint == "Could not load: database is locked"
        # Shown again: asked again, and this time it answers.
        await show_tab(pilot, screen, "references")
        await show_tab(pilot, screen, "realizations")
        assert attempts == [glibc] * 3
        assert tabs.get_tab("realizations").label.plain == "Realizations 1"
        assert not screen.query_one("#object-realizations-hint", Static).display
        assert "✔ trusted" in _realization_text(screen)
    store.close()


async def test_derivation_outputs_and_deriver_links_on_a_nix_store(
    tmp_path: Path, make_app
) -> None:
    """The related list under the metadata (Nix only) is there, linked, and folds away."""
    if not Path(REALDATA).is_dir():
        pytest.skip("the real Nix database (shared/realdata) is not beside the repository")
    for name in ("db.sqlite", "schema", "ca-schema"):
        shutil.copyfile(Path(REALDATA) / name, tmp_path / name)
    store = open_store(StoreOptions(db=str(tmp_path / "db.sqlite"), env={}, nix_conf=()))
    drv = "/nix/store/5wjfbdi3gfjw9636bhaxf2bkkdgfrh5y-libfoo-2.0.drv"
    outputs = store.derivation_outputs(drv)
    assert len(outputs) == 3
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen = await open_detail(pilot, drv)
        related = screen.query_one("#object-related", LinkList)
        shown = lines(related)
        assert shown[0] == "Outputs of this derivation"
        for output in outputs:
            assert any(output.name in line and output.path[11:18] in line for line in shown)
        assert related.display
        await pilot.press("m")
        assert not related.display
        await pilot.press("m")
        assert related.display

        # An output names its deriver, which opens.
        out = next(o.path for o in outputs if o.name == "out")
        screen = await open_detail(pilot, out)
        related = screen.query_one("#object-related", LinkList)
        assert "Deriver" in lines(related)[0] and related.link is not None
        assert related.link.path == drv
        related.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ObjectDetailScreen) and pilot.app.screen.path == drv

        # A zb-like object with none has no list at all.
        hello = "/nix/store/s007w998i569mhdq9ia0f85q33a8zzik-hello.txt"
        screen = await open_detail(pilot, hello)
        assert not screen.query("#object-related")
    store.close()
