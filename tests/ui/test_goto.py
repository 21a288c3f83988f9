"""``g`` (Go to): a pasted path, base name or digest prefix opens the object."""

from __future__ import annotations

from zbtui.screens.goto import GotoScreen
from zbtui.screens.object_detail import ObjectDetailScreen


async def _settle(pilot) -> None:
    for _ in range(5):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_goto_opens_a_digest_prefix(zb_alive, demo_alive, make_app):
    glibc = demo_alive.facts["shared_base"]
    digest = glibc.rsplit("/", 1)[1][:9]
    async with make_app(zb_alive).run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(pilot.app.screen, GotoScreen)
        await pilot.press(*digest, "enter")
        await _settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ObjectDetailScreen) and screen.path == glibc
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, (GotoScreen, ObjectDetailScreen))


async def test_goto_escape_cancels(zb_alive, make_app):
    async with make_app(zb_alive).run_test(size=(100, 30)) as pilot:
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(pilot.app.screen, GotoScreen)


async def test_keys_typed_in_one_burst_after_g_reach_the_prompt(zb_alive, demo_alive, make_app):
    # "g" then the digest, delivered in one read (fast typing, a paste, SSH):
    # the prompt is not mounted yet when the letters arrive; none may be lost.
    from textual import events
    from textual.widgets import Input

    glibc = demo_alive.facts["shared_base"]
    digest = glibc.rsplit("/", 1)[1][:9]
    async with make_app(zb_alive).run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        pilot.app.post_message(events.Key("g", "g"))
        for char in digest:
            pilot.app.post_message(events.Key(char, char))
        await pilot.pause()
        await _settle(pilot)
        assert isinstance(pilot.app.screen, GotoScreen)
        assert pilot.app.screen.query_one(Input).value == digest
