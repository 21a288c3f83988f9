"""The footer rebuilds its keys only when the keys it shows change (zbtui.widgets.footer)."""

from __future__ import annotations

from helpers import open_demo
from textual.widgets._footer import FooterKey

from zbtui.screens.object_detail import ObjectDetailScreen
from zbtui.widgets.footer import Footer

SIZE = (120, 40)
"""Wide enough for every key of the detail screen to show."""


async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def shown(screen) -> list[tuple[str, str, bool]]:
    """(key, description, enabled) of every key the footer shows, in order."""
    footer = screen.query_one(Footer)
    return [(k.key, k.description, not k.has_class("-disabled")) for k in footer.query(FooterKey)]


def expected(screen) -> list[tuple[str, str, bool]]:
    """What Textual's Footer would show for the screen's bindings now."""
    seen: set[str] = set()
    keys = []
    for _node, binding, enabled, _tooltip in screen.active_bindings.values():
        if binding.show and binding.action not in seen:
            seen.add(binding.action)
            keys.append((binding.key, binding.description, enabled))
    palette = screen.active_bindings.get(screen.app.COMMAND_PALETTE_BINDING)
    if palette is not None:
        keys.append((palette.binding.key, palette.binding.description, palette.enabled))
    return keys


async def test_footer_rebuilds_only_when_its_keys_change(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    bash = demo_alive.facts["chain"][0]
    async with make_app(store).run_test(size=SIZE) as pilot:
        pilot.app.open_object(bash)
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ObjectDetailScreen)
        footer = screen.query_one(Footer)
        assert shown(screen) == expected(screen)
        assert ("space", "Expand", True) in shown(screen)  # the tree has the focus
        keys = list(footer.query(FooterKey))
        # As Textual's Footer: keys follow the (non-compact) footer, the command
        # palette key keeps its own compact look.
        palette = [k for k in keys if k.has_class("-command-palette")]
        assert len(palette) == 1 and palette[0].has_class("-compact")
        assert not any(k.has_class("-compact") for k in keys if k not in palette)

        # Asked again with nothing changed: the same widgets, not rebuilt.
        for _ in range(3):
            screen.refresh_bindings()
        await settle(pilot)
        assert list(footer.query(FooterKey)) == keys

        # The focus moves to the Why tab's button: the tree's keys go.
        screen._focus_tab("why")
        await settle(pilot)
        assert ("space", "Expand", True) not in shown(screen)
        assert shown(screen) == expected(screen)

        # While the app has no focus the footer waits, then catches up.
        pilot.app.app_focus = False
        screen._focus_tab("references")
        await settle(pilot)
        assert ("space", "Expand", True) not in shown(screen)
        pilot.app.app_focus = True
        screen.refresh_bindings()
        await settle(pilot)
        assert shown(screen) == expected(screen)
        assert ("space", "Expand", True) in shown(screen)

        # Under another screen it is not rebuilt; resuming brings it up to date.
        await pilot.press("question_mark")
        await settle(pilot)
        assert pilot.app.screen is not screen
        keys = list(footer.query(FooterKey))
        screen._focus_tab("why")
        await settle(pilot)
        assert list(footer.query(FooterKey)) == keys
        await pilot.press("escape")
        await settle(pilot)
        assert pilot.app.screen is screen
        assert ("space", "Expand", True) not in shown(screen)
        assert shown(screen) == expected(screen)
    store.close()
