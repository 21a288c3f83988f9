"""A Footer that rebuilds its keys only when the keys it shows change.

Textual's ``Footer`` removes and remounts every key (~15–20 widgets, each
restyled) on each ``refresh_bindings()``, which Textual itself calls on every
focus change and which widgets call whenever an action may have changed
state. Opening a screen asks for this several times while what the footer
shows stays the same; each rebuild costs tens of milliseconds of UI thread.
This Footer coalesces the requests of one refresh into one check and
recomposes only when the keys it would show (key, description, enabled,
tooltip) differ from those it shows, and not at all while its screen is
under another one (Textual refreshes a screen's bindings when it resumes).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

__all__ = ["Footer"]


class Footer(TextualFooter):
    """``textual.widgets.Footer``, recomposed only when its keys change."""

    _shown: tuple | None = None
    """What the last composition showed (None: nothing composed yet)."""

    _check_pending = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._check_pending:
            self._check_pending = True
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached or not self.app.app_focus:
            return
        if self.screen is not self.app.screen:
            # Under another screen (pushing one blurs this one's focus): nobody
            # sees these keys. Resuming the screen refreshes its bindings.
            return
        shown = self._keys()
        if shown == self._shown:
            return
        self._shown = shown
        await self.recompose()

    def compose(self) -> ComposeResult:
        # Most keys bind ``compact`` to the footer's; FooterKey's own default
        # differs from Footer's, so binding it restyles each such key twice as
        # it mounts. Give them the footer's value before they mount (the
        # command palette key is not bound: it keeps its own).
        compact = self.compact
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "compact" in (
                getattr(widget, "_reactive_connect", None) or {}
            ):
                widget.set_reactive(FooterKey.compact, compact)
                widget.set_class(compact, "-compact", update=False)
            yield widget

    def _keys(self) -> tuple:
        """Everything ``compose`` reads to build the keys, in its order."""
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING
        keys = tuple(
            (binding, enabled, tooltip, app.get_key_display(binding))
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or (key == palette and self.show_command_palette)
        )
        return (self.show_command_palette, app.ENABLE_COMMAND_PALETTE, keys)
