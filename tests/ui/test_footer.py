"""The footer recomposes only when the keys it shows change."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Label

from zbtui.widgets.footer import QuietFooter


class _FooterApp(App[None]):
    BINDINGS = [
        Binding("a", "first", "First"),
        Binding("b", "second", "Second"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.second_enabled = True
        self.recomposed = 0

    def compose(self) -> ComposeResult:
        yield Label("body")
        yield QuietFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "second":
            return self.second_enabled or None  # None: shown disabled
        return True

    def action_first(self) -> None: ...

    def action_second(self) -> None: ...


def _keys(app: _FooterApp) -> list[tuple[str, bool]]:
    from textual.widgets._footer import FooterKey

    return [(key.description, key.has_class("-disabled")) for key in app.query(FooterKey)]


async def test_footer_recomposes_only_on_a_change():
    app = _FooterApp()
    async with app.run_test(size=(80, 10)) as pilot:
        app.app_focus = True
        footer = app.query_one(QuietFooter)
        calls = 0
        original = footer.recompose

        async def counting():
            nonlocal calls
            calls += 1
            await original()

        footer.recompose = counting  # type: ignore[method-assign]
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert ("First", False) in _keys(app) and ("Second", False) in _keys(app)
        settled = calls
        for _ in range(5):  # nothing changed: nothing rebuilt
            app.screen.refresh_bindings()
            await pilot.pause()
        assert calls == settled
        app.second_enabled = False
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert calls == settled + 1
        assert ("Second", True) in _keys(app)
