"""A ``Footer`` that rebuilds itself only when what it shows changes.

Textual's ``Footer`` recomposes — removes and mounts a ``FooterKey`` per
binding, each restyled — on every ``refresh_bindings()`` and focus change,
whether or not any key, label or enabled state differs. A screen that asks
after each loaded result (the object detail asks about seven times while
opening) paid ~30 ms per recomposition on the UI thread. This one compares
what it would show with what it shows, and recomposes only on a difference.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

__all__ = ["QuietFooter"]


class QuietFooter(Footer):
    """``Footer`` that skips recomposing when the bindings it would show are unchanged."""

    _shown: tuple | None = None

    def _signature(self) -> tuple:
        active = self.screen.active_bindings
        keys = tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip, binding.group)
            for (_node, binding, enabled, tooltip) in active.values()
            if binding.show
        )
        palette = None
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            entry = active.get(self.app.COMMAND_PALETTE_BINDING)
            if entry is not None:
                palette = (entry[1].key, entry[2])
        return keys, palette, self.compact

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if not self.is_attached:
            return
        signature = self._signature()
        if signature == self._shown:
            return
        self._shown = signature
        await self.recompose()
