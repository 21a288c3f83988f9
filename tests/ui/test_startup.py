"""Start-up: only the first screen is imported, styled and shown; the rest loads later.

The first screen's cost is what a user waits for on every start: the app
imports and styles the overview only, other screens' modules are imported in
a thread once the overview shows data, and each screen's stylesheet is read
when it is first shown, without re-parsing or restyling anything else.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from importlib import import_module
from pathlib import Path

import pytest
from textual.app import App
from textual.css.stylesheet import Stylesheet
from textual.screen import Screen
from textual.widgets import Footer

import zbtui
from zbtui.app import APP_STYLES, PRELOAD, SCREEN_STYLES, SECTION_SCREENS, SECTIONS, styles_dir

PACKAGE = Path(zbtui.__file__).parent
SIZE = (120, 36)


async def _settle(pilot) -> None:
    for _ in range(5):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


# -- stylesheets ------------------------------------------------------------------


def test_every_stylesheet_is_read_by_the_app_or_by_a_screen() -> None:
    directory = styles_dir()
    assert directory.is_dir(), "styles/ must ship beside (or inside) the package"
    assert {p.name for p in directory.glob("*.tcss")} == set(APP_STYLES) | set(SCREEN_STYLES.values())
    for module in [*SCREEN_STYLES, *PRELOAD, *(m for m, _ in SECTION_SCREENS.values())]:
        assert (PACKAGE / "screens" / f"{module}.py").is_file(), module
    assert set(SECTION_SCREENS) == set(SECTIONS)


def _screen_classes(module: str) -> set[str]:
    loaded = import_module(f"zbtui.screens.{module}")
    return {
        value.__name__
        for value in vars(loaded).values()
        if isinstance(value, type) and issubclass(value, Screen) and value.__module__ == loaded.__name__
    }


@pytest.mark.parametrize("sheet", sorted(set(SCREEN_STYLES.values())))
def test_a_screen_stylesheet_names_only_its_own_screens(sheet: str) -> None:
    """Read late, a sheet must not restyle what is already on screen: every
    rule starts with a screen of the modules the sheet belongs to."""
    screens = set().union(*(_screen_classes(m) for m, s in SCREEN_STYLES.items() if s == sheet))
    assert screens
    stylesheet = Stylesheet(variables=App().get_css_variables())
    stylesheet.read(styles_dir() / sheet)
    rules = stylesheet.rules
    assert rules
    for rule in rules:
        for selector_set in rule.selector_set:
            first = selector_set.selectors[0]
            assert first.name in screens, f"{sheet}: {rule.css.splitlines()[0]!r} names no screen of {sorted(screens)}"


# -- imports -------------------------------------------------------------------------


def _top_level_imports(path: Path, package: str) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.add(name)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "zbtui" or name.startswith("zbtui.")}


def test_zbtui_modules_import_one_another_one_way_only() -> None:
    """The preloading thread and the UI thread may import at the same time:
    without cycles, one only ever waits for the other to finish a module."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if parts[-1] == "__init__" else module.rpartition(".")[0]
        graph[module] = _top_level_imports(path, package)
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError("import cycle: " + " -> ".join([*path[path.index(module):], module]))
        if module in done or module not in graph:
            return
        for imported in graph[module]:
            visit(imported, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


START = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    from zbtui.app import ZbtuiApp
    from zbtui.store.open import StoreOptions, open_store

    store = open_store(StoreOptions(db=sys.argv[1], store_dir=sys.argv[2], env={}))

    async def main():
        app = ZbtuiApp(store, watch_interval=0, preload=sys.argv[3] == "preload")
        async with app.run_test(size=(120, 36)) as pilot:
            for _ in range(5):
                await app.workers.wait_for_complete()
                await pilot.pause()
            shown = app.screen.query_one("#overview-facts").option_count
            screens = sorted(m for m in sys.modules if m.startswith("zbtui.screens."))
            sheets = sorted(src[0].rsplit("/", 1)[-1] for src in app.stylesheet.source if src[0].endswith(".tcss"))
            frozen = gc.get_freeze_count()
            print(json.dumps({"facts": shown, "screens": screens, "sheets": sheets, "frozen": frozen}))
            app.exit()

    asyncio.run(main())
    """
)


def _start(demo, mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", START, demo.db_path, demo.store_dir, mode],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(PACKAGE.parent),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_start_imports_and_styles_only_the_first_screen(demo_alive) -> None:
    started = _start(demo_alive, "no-preload")
    assert started["facts"] > 1  # the overview shows the store's summary
    assert started["screens"] == ["zbtui.screens.base", "zbtui.screens.overview"]
    assert started["sheets"] == sorted({*APP_STYLES, SCREEN_STYLES["overview"]})
    assert started["frozen"] == 0


def test_other_screens_are_imported_once_the_first_shows_data(demo_alive) -> None:
    started = _start(demo_alive, "preload")
    assert started["facts"] > 1
    assert set(started["screens"]) >= {f"zbtui.screens.{m}" for m in PRELOAD}
    # What lives as long as the app is then out of the garbage collector's way.
    assert started["frozen"] > 10_000
    # Importing is not showing: the stylesheets wait for their screens.
    assert started["sheets"] == sorted({*APP_STYLES, SCREEN_STYLES["overview"]})


# -- first showing of each screen -------------------------------------------------


async def test_screens_are_styled_when_first_shown_without_restyling_the_rest(
    zb_alive, demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    reparsed: list[int] = []
    original = Stylesheet.reparse
    monkeypatch.setattr(Stylesheet, "reparse", lambda self: (reparsed.append(1), original(self))[1])
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        app = pilot.app
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)
        # objects.tcss: the search box has one cell of padding (Input's own is two).
        assert app.screen.query_one("#objects-search").styles.padding.left == 1
        await pilot.press("3")
        await _settle(pilot)
        await pilot.press("4")
        await _settle(pilot)
        app.open_object(demo_alive.facts["shared_base"])
        await _settle(pilot)
        detail = app.screen
        await pilot.press("question_mark")  # help imports Markdown in a thread, then shows
        await _settle(pilot)
        assert type(app.screen).__name__ == "HelpScreen" and app.screen.target is detail
        # modals.tcss: the help text sits in a box at most 100 cells wide.
        assert app.screen.query_one("#help-body").styles.max_width.value == 100
        await pilot.press("escape")
        await pilot.press("g")
        await _settle(pilot)
        assert app.screen.query_one("#goto-box").styles.max_width.value == 110
        await pilot.press("escape")
        await _settle(pilot)
        assert reparsed == []  # no stylesheet parsed again, no app-wide restyle
        sheets = {src[0].rsplit("/", 1)[-1] for src in app.stylesheet.source if src[0].endswith(".tcss")}
        assert sheets == {*APP_STYLES, *(SCREEN_STYLES[m] for m in ("overview", "objects", "builds", "realizations", "object_detail", "help", "goto"))}


async def test_a_new_theme_restyles_screens_styled_late(zb_alive, make_app) -> None:
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        app = pilot.app
        await _settle(pilot)
        await pilot.press("2")
        await _settle(pilot)
        search = app.screen.query_one("#objects-search")
        before = search.styles.background
        app.theme = "nord"
        await _settle(pilot)
        panel = app.theme_variables["panel"]
        assert search.styles.background != before
        assert search.styles.background.hex.lower() == panel.lower()[:7]
        assert app.screen.styles.background.hex.lower() == app.theme_variables["background"].lower()[:7]


# -- the footer -----------------------------------------------------------------------


def _footer_keys(screen) -> list[tuple[str, str]]:
    return [(key.key, key.description) for key in screen.query_one(Footer).query("FooterKey")]


async def test_the_footer_recomposes_only_when_its_keys_change(zb_alive, make_app, monkeypatch) -> None:
    recomposed: list[str] = []
    original = Footer.recompose

    async def counting(self):
        recomposed.append(type(self.screen).__name__)
        return await original(self)

    monkeypatch.setattr(Footer, "recompose", counting)
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        app = pilot.app
        await _settle(pilot)
        assert recomposed == ["OverviewScreen"]  # Textual alone recomposed it three times
        keys = _footer_keys(app.screen)
        assert ("question_mark", "Help") in keys and ("g", "Go to") in keys and ("r", "Reload") in keys

        # Asked again and again, with nothing changed: nothing to do.
        for _ in range(3):
            app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.press("tab")  # focus moves; the keys shown stay the same
        await _settle(pilot)
        assert recomposed == ["OverviewScreen"]

        # A key that changes is shown changed.
        app.update_keymap({"zb-goto": "G"})
        await _settle(pilot)
        assert len(recomposed) == 2
        assert ("G", "Go to") in _footer_keys(app.screen)
        assert ("g", "Go to") not in _footer_keys(app.screen)

        # Each screen's footer shows that screen's keys.
        await pilot.press("2")
        await _settle(pilot)
        assert "ObjectsScreen" in recomposed
        assert any(description == "Help" for _, description in _footer_keys(app.screen))


async def test_help_imports_off_the_ui_thread_and_shows_where_it_was_asked_for(
    zb_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import zbtui.app as app_module

    monkeypatch.delitem(sys.modules, "zbtui.screens.help", raising=False)
    release = threading.Event()
    threads: list[str] = []
    real = app_module.screen_module

    def held(module: str):
        if module == "help" and threading.current_thread() is not threading.main_thread():
            threads.append(threading.current_thread().name)
            release.wait(10)
        return real(module)

    monkeypatch.setattr(app_module, "screen_module", held)
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        app = pilot.app
        await _settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert threads and type(app.screen).__name__ == "OverviewScreen"  # still importing
        await pilot.press("2")  # the user moved on: help for the overview is no longer wanted
        await pilot.pause()
        release.set()
        await _settle(pilot)
        assert type(app.screen).__name__ == "ObjectsScreen"
        objects = app.screen
        await pilot.press("question_mark")  # imported now: shown at once
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen" and app.screen.target is objects
        assert "Objects" in str(app.screen.query_one("Markdown").source)


async def test_the_key_panel_follows_the_focus(zb_alive, make_app, monkeypatch) -> None:
    """Textual's key panel lists every binding by the widget it belongs to:
    a focus change updates it even when the footer stays the same."""
    from textual.widgets import KeyPanel

    recomposed: list[str] = []
    for cls in (Footer, KeyPanel):
        original = cls.recompose

        async def counting(self, __original=original):
            recomposed.append(type(self).__name__)
            return await __original(self)

        monkeypatch.setattr(cls, "recompose", counting)
    async with make_app(zb_alive).run_test(size=SIZE) as pilot:
        app = pilot.app
        await _settle(pilot)
        app.action_show_help_panel()
        await pilot.press("tab")  # from the summary to the builds table
        await _settle(pilot)
        recomposed.clear()
        await pilot.press("tab")  # to the largest objects: a table with the same keys
        await _settle(pilot)
        assert "KeyPanel" in recomposed
