"""The base of every screen that shows store data.

``StoreScreen.load`` is the one way screens query the store: the blocking
call runs in a thread worker, and its result comes back as a message handled
on the UI thread. Errors become a notification, never a traceback.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from textual import events, on
from textual._context import active_app
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from ..messages import QueryFailed, QueryFinished, StoreChanged
from ..store.errors import QueryCancelled, StoreError

if TYPE_CHECKING:
    from ..app import ZbtuiApp
    from ..store.base import Store

__all__ = ["StoreScreen"]

T = TypeVar("T")
log = logging.getLogger("zbtui")


class StoreScreen(Screen):
    """A screen that loads data from the store off the UI thread."""

    BINDINGS = [
        Binding("escape", "app.back", "Back", tooltip="Go back to the previous screen"),
        Binding("backspace", "app.back", "Back", show=False),
    ]

    HELP = ""
    """Markdown shown by ``?`` for this screen, above its key bindings."""

    LIVE = False
    """Reload on ``StoreChanged`` (the database changed)."""

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        # A new screen is styled as it mounts, by the stylesheet as it is now.
        # Say so: Textual otherwise takes the first showing of a section's
        # screen for a stale one and re-parses every stylesheet and restyles
        # the app, twice (App._init_mode and App.switch_mode), 30-50 ms each.
        try:
            self._css_update_count = active_app.get()._css_update_count
        except LookupError:  # built outside a running app (tests)
            pass
        self._resumed = False

    @on(events.ScreenResume)
    def _first_resume(self, event: events.ScreenResume) -> None:
        # Runs before Screen's own handler. Textual restyles every widget of a
        # screen on each resume (the theme may have changed while it was hidden);
        # on the first, right after mounting, nothing can have changed: skip it.
        if not self._resumed:
            self._resumed = True
            event.refresh_styles = False

    @property
    def zapp(self) -> ZbtuiApp:
        return self.app  # type: ignore[return-value]

    @property
    def store(self) -> Store:
        return self.zapp.store

    def now_ms(self) -> int:
        return self.zapp.clock()

    def load(
        self,
        fetch: Callable[[], T],
        deliver: Callable[[T], None],
        *,
        key: str = "load",
        exclusive: bool = True,
        quiet: bool = False,
    ) -> None:
        """Run ``fetch`` in a thread worker and hand its result to ``deliver``.

        Args:
            fetch: The blocking store call (runs in a thread; touches no widget).
            deliver: Called on the UI thread with the result.
            key: Worker group; with ``exclusive`` a new load cancels the previous
                one of the same key (its SQLite query is interrupted).
            quiet: Do not notify on errors (background refreshes).
        """
        self.run_worker(
            partial(self._load_in_thread, fetch, deliver, key, quiet),
            thread=True,
            exclusive=exclusive,
            group=key,
            exit_on_error=False,
            description=f"{type(self).__name__}.{key}",
        )

    def _load_in_thread(self, fetch: Callable[[], Any], deliver: Callable[[Any], None], key: str, quiet: bool) -> None:
        worker = get_current_worker()
        try:
            with self.store.cancellable(lambda: worker.is_cancelled):
                result = fetch()
        except QueryCancelled:
            return
        except StoreError as exc:
            if not worker.is_cancelled and not quiet:
                self.post_message(QueryFailed(str(exc), key))
            return
        except Exception as exc:  # a bug: say so in one line, keep the details in the log
            log.error("query %s failed:\n%s", key, traceback.format_exc())
            if not worker.is_cancelled:
                self.post_message(QueryFailed(f"internal error in {key}: {type(exc).__name__}: {exc}", key))
            return
        if not worker.is_cancelled:
            self.post_message(QueryFinished(deliver, result))

    def on_query_finished(self, message: QueryFinished) -> None:
        message.stop()
        if self.is_attached:
            message.deliver(message.result)
            # The first screen is showing data: the other screens may load now.
            preload = getattr(self.app, "preload_screens", None)
            if preload is not None:
                preload()

    def on_query_failed(self, message: QueryFailed) -> None:
        message.stop()
        self.notify(message.error, title="Store", severity="error", timeout=8)

    def on_store_changed(self, message: StoreChanged) -> None:
        message.stop()
        if self.LIVE:
            self.refresh_data()

    def on_screen_suspend(self) -> None:
        self._was_suspended = True

    def on_screen_resume(self) -> None:
        # Coming back to a live screen: what it shows may be stale. Only after
        # another screen really was on top: Textual also sends ScreenResume
        # when a mode's screen is first shown, and that one just loaded.
        if self.LIVE and getattr(self, "_was_suspended", False):
            self.refresh_data()
        self._was_suspended = False

    def refresh_data(self) -> None:
        """Reload what the screen shows (live screens override this)."""
