"""The zbtui application: sections, navigation history, live change probe.

Sections (Overview, Objects, Builds, Realizations) are Textual modes, each
with its own screen stack: drilling in pushes a screen, Escape/Backspace pops
it, like a browser's history per tab.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from importlib import import_module
from pathlib import Path
from types import ModuleType

from textual.app import App, ScreenStackError, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.worker import get_current_worker

from .messages import StoreChanged
from .store.base import Store
from .store.errors import StoreError
from .widgets.terminal_guard import InertText

__all__ = ["SECTIONS", "ZbtuiApp", "styles_dir"]

log = logging.getLogger("zbtui")

SECTIONS = {
    "overview": "Overview",
    "objects": "Objects",
    "builds": "Builds",
    "realizations": "Realizations",
}

SECTION_SCREENS = {
    "overview": ("overview", "OverviewScreen"),
    "objects": ("objects", "ObjectsScreen"),
    "builds": ("builds", "BuildsScreen"),
    "realizations": ("realizations", "RealizationsScreen"),
}
"""The root screen of each section: (module of ``zbtui.screens``, class).
A section's module is imported when the section is first shown."""

APP_STYLES = ("app.tcss", "store_widgets.tcss")
"""Read at start-up: theme-wide classes, and widgets several screens share."""

SCREEN_STYLES = {
    "overview": "overview.tcss",
    "objects": "objects.tcss",
    "builds": "builds.tcss",
    "realizations": "realizations.tcss",
    "object_detail": "object_detail.tcss",
    "why": "object_detail.tcss",
    "build_detail": "build_detail.tcss",
    "log": "log.tcss",
    "goto": "modals.tcss",
    "help": "modals.tcss",
}
"""The stylesheet of the screens of each module of ``zbtui.screens``, read
just before the first of them is shown. Its rules name only those screens
(a test checks), so reading it then restyles nothing already shown, and
start-up parses only what the first screen needs."""

PRELOAD = ("objects", "object_detail", "builds", "realizations", "goto", "why")
"""Screen modules imported in a thread once the first screen shows its data,
most likely first, so that opening one later does not import it on the UI
thread. zbtui's modules import one another one way only (a test checks): an
import of the same module on the UI thread meanwhile waits for that one
module, never for a cycle. The build detail and log screens import in 3 and
15-20 ms when first opened; help, whose Markdown takes 80-100 ms and 2 MB,
is imported in a thread when first asked for."""

CHANGE_PROBE_SECONDS = 1.0
"""How often the app asks the database whether anything changed (one cheap
read of SQLite's data version, `Store.data_version`): new builds show up
within about a second."""

FORCED_REFRESH_TICKS = 10
"""Refresh live screens at least this often (in probes) even without writes:
a heartbeat goes stale, and an active build turns orphaned, by time alone."""


def styles_dir() -> Path:
    """Where the ``.tcss`` files are: inside the installed package, or at the
    top of a source checkout (editable installs)."""
    packaged = Path(__file__).parent / "styles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).parent.parent / "styles"


def screen_module(module: str) -> ModuleType:
    """``zbtui.screens.<module>``, imported on first use."""
    return import_module(f"{__package__}.screens.{module}")


@dataclass
class ProbeAnswered(Message):
    """The change probe read the database's data version."""

    token: tuple | None
    error: str | None = None


class ZbtuiApp(App[int]):
    """Browse one store database, read-only."""

    TITLE = "zbtui"
    CSS_PATH = [styles_dir() / name for name in APP_STYLES]
    # The sections' modes are added in __init__. The overview is the first
    # screen itself, not a switch away from an empty default screen (which
    # would restyle everything twice more).
    DEFAULT_MODE = "overview"
    BINDINGS = [
        # Help first: at 80 columns the footer cuts off what comes last.
        Binding("question_mark", "help", "Help", tooltip="Keys and help for this screen", id="zb-help"),
        Binding("1", "section('overview')", "Overview", tooltip="Store summary", id="zb-go-overview"),
        Binding("2", "section('objects')", "Objects", tooltip="Every object in the store", id="zb-go-objects"),
        Binding("3", "section('builds')", "Builds", tooltip="Builds, newest first, live", id="zb-go-builds"),
        Binding("4", "section('realizations')", "Realizations", show=False, tooltip="Realizations and signatures", id="zb-go-realizations"),
        # Priority: run as the key arrives, so that what is typed in the same
        # burst goes to the prompt (a non-priority binding runs only after the
        # key has bubbled through the widgets, and the next keys went ahead).
        Binding("g", "goto", "Go to", tooltip="Open a path, base name or digest prefix", id="zb-goto", priority=True),
        Binding("q", "quit", "Quit", id="zb-quit"),
    ]

    def __init__(
        self,
        store: Store,
        *,
        theme: str | None = None,
        clock: Callable[[], int] | None = None,
        watch_interval: float = CHANGE_PROBE_SECONDS,
        preload: bool = True,
    ) -> None:
        super().__init__()
        for section in SECTIONS:
            self.add_mode(section, partial(self._section_screen, section))
        # After every other filter: no control character from a database value
        # reaches the terminal, whichever widget shows it.
        self._filters.append(InertText())
        self.store = store
        self.clock = clock or store.clock
        self.watch_interval = watch_interval
        self._token: tuple | None = None
        self._ticks = 0
        self._preload = preload
        if theme:
            self.theme = theme
        self.sub_title = f"{store.kind} · {store.path}"

    # -- screens: imported and styled on first use ------------------------------

    def _section_screen(self, section: str) -> Screen:
        module, name = SECTION_SCREENS[section]
        screen = getattr(screen_module(module), name)()
        self.use_styles(screen)
        return screen

    def use_styles(self, screen: Screen) -> None:
        """Read the stylesheet of ``screen``'s module, if not read yet.

        Parsed with the next restyle, which is the new screen's own, as it
        mounts: nothing else is restyled (its rules name only its screens).
        """
        module = type(screen).__module__
        name = SCREEN_STYLES.get(module.rpartition(".")[2]) if module.startswith(f"{__package__}.screens.") else None
        if name is None:
            return
        path = styles_dir() / name
        if not self.stylesheet.has_source(str(path), ""):
            self.stylesheet.read(path)
            if self.css_monitor is not None:  # textual run --dev: watch it too
                self.css_monitor.add_paths([path])

    def push_screen(self, screen, *args, **kwargs):  # type: ignore[override]
        if isinstance(screen, Screen):
            self.use_styles(screen)
        return super().push_screen(screen, *args, **kwargs)

    def preload_screens(self) -> None:
        """Import the other screens in a thread, once, after the next frame.

        Called when a screen shows data from the store: the first screen is
        then on the terminal, and the user reading it.
        """
        if self._preload:
            self._preload = False
            self.call_after_refresh(
                self.run_worker, self._preload_in_thread, thread=True, group="preload", exit_on_error=False
            )

    def _preload_in_thread(self) -> None:
        worker = get_current_worker()
        for module in PRELOAD:
            if worker.is_cancelled:
                return
            try:
                screen_module(module)
            except Exception:  # noqa: BLE001 - opening that screen will report it, on the UI thread
                log.exception("preloading zbtui.screens.%s failed", module)
                return
        # Everything alive now (Textual, the screens, the store's caches) lives
        # as long as the app: take it out of the cyclic garbage collector's
        # full passes, which otherwise walk it all again and again. On the 1M
        # store such passes paused the UI for 44-121 ms while scrolling and
        # searching; frozen, 11-34 ms. (O(1): no collection runs here.)
        gc.freeze()

    # -- start-up and change detection -------------------------------------

    def on_mount(self) -> None:
        for warning in self.store.warnings:
            self.notify(warning, title="Warning", severity="warning", timeout=15)
        if self.watch_interval > 0:
            self.set_timer(self.watch_interval, self._probe)

    def _probe(self) -> None:
        self.run_worker(self._probe_in_thread, thread=True, group="probe", exclusive=True, exit_on_error=False)

    def _probe_in_thread(self) -> None:
        try:
            self.post_message(ProbeAnswered(self.store.data_version()))
        except StoreError as exc:
            self.post_message(ProbeAnswered(None, str(exc)))

    def on_probe_answered(self, message: ProbeAnswered) -> None:
        self._ticks += 1
        if message.error:
            # Say it once per change of state, not every second.
            if self._token != ("error", message.error):
                self.notify(message.error, title="Database", severity="error", timeout=10)
            self._token = ("error", message.error)
        else:
            changed = message.token != self._token
            self._token = message.token
            if changed or self._ticks % FORCED_REFRESH_TICKS == 0:
                self.notify_changed()
        self.set_timer(self.watch_interval, self._probe)

    def notify_changed(self) -> None:
        """Tell the visible screen the store changed (modals pass it down)."""
        try:
            screen = self.screen
        except ScreenStackError:  # shutting down: no screen left to tell
            return
        if isinstance(screen, ModalScreen):
            return
        screen.post_message(StoreChanged())

    # -- navigation ------------------------------------------------------------

    def action_section(self, name: str) -> None:
        self.show_section(name)

    def show_section(self, name: str, **options: object) -> None:
        """Switch to a section; ``options`` are applied by its root screen."""
        if name not in SECTIONS:
            return
        if self.current_mode != name:
            self.switch_mode(name)
        if options:
            self.call_after_refresh(self._apply_options, options)

    def _apply_options(self, options: dict) -> None:
        apply = getattr(self.screen, "apply_options", None)
        if apply is not None:
            apply(**options)

    async def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self.current_mode != "overview":
            self.switch_mode("overview")

    def open_object(self, path: str) -> None:
        self.push_screen(screen_module("object_detail").ObjectDetailScreen(path))

    def open_build(self, build_id: str) -> None:
        self.push_screen(screen_module("build_detail").BuildDetailScreen(build_id))

    def open_log(self, build_id: str, drv_path: str) -> None:
        self.push_screen(screen_module("log").LogScreen(build_id, drv_path))

    def open_realizations(self, *, path: str | None = None, drv_hash: str | None = None) -> None:
        self.push_screen(screen_module("realizations").RealizationDetailScreen(path=path, drv_hash=drv_hash))

    def type_into_focused_input(self, character: str) -> bool:
        """Type ``character`` into the focused text input, if one has focus.

        For priority bindings on printable keys: in a text field the key is
        text, not a command.
        """
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input):
            focused.insert_text_at_cursor(character)
            return True
        return False

    def action_goto(self) -> None:
        if self.type_into_focused_input("g"):
            return
        self.push_screen(screen_module("goto").GotoScreen())

    def action_help(self) -> None:
        target = self.screen
        if isinstance(target, ModalScreen):
            return
        if f"{__package__}.screens.help" in sys.modules:
            self._show_help(target)
        else:  # 80-100 ms of imports (Markdown): not on the UI thread
            self.run_worker(partial(self._import_help, target), thread=True, group="help", exit_on_error=False)

    def _import_help(self, target: Screen) -> None:
        try:
            screen_module("help")
        except Exception:  # noqa: BLE001 - imported again on the UI thread, which reports it
            pass
        self.call_from_thread(self._show_help, target)

    def _show_help(self, target: Screen) -> None:
        if self.screen is target and not isinstance(target, ModalScreen):  # still where help was asked for
            self.push_screen(screen_module("help").HelpScreen(target))

    def copy_path(self, text: str) -> None:
        """Copy with OSC 52, which reaches the local clipboard over SSH too."""
        self.copy_to_clipboard(text)
        self.notify(text, title="Copied (OSC 52)", timeout=3)

    # -- command palette --------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for name, title in SECTIONS.items():
            yield SystemCommand(f"go: {title}", f"Show the {title.lower()} section", lambda n=name: self.show_section(n))
        yield SystemCommand("go: Orphaned builds", "Builds left unfinished by a crashed server", lambda: self.show_section("builds", status="orphaned"))
        yield SystemCommand("go: Failed builds", "Builds whose builder failed", lambda: self.show_section("builds", status="fail"))
        yield SystemCommand("go: Path…", "Open a store path, base name or digest prefix", self.action_goto)
        yield SystemCommand("view: Help", "Keys and help for this screen", self.action_help)
        extra = getattr(screen, "palette_commands", None)
        if extra is not None:
            yield from extra()
        yield from super().get_system_commands(screen)
