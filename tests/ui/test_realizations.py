"""Pilot tests of the Realizations section and the realization detail screen."""

from __future__ import annotations

import pytest
from helpers import open_demo
from rich.text import Text
from textual.widgets import DataTable, Input, Static

import zbtui.screens.realizations as realizations_module
from zbtui.screens.object_detail import ObjectDetailScreen
from zbtui.screens.realizations import (
    MORE_ROW,
    RealizationDetailScreen,
    RealizationsScreen,
    realization_rows,
)
from zbtui.widgets.link_list import LinkList

SIZE = (80, 24)
"""The smallest supported terminal: every flow must work there."""


async def settle(pilot, rounds: int = 3) -> None:
    """Wait for workers and for what their results start in turn."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def plain(widget: Static) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


def cell(table: DataTable, row: int, column: int) -> str:
    value = table.get_cell_at((row, column))
    return value.plain if isinstance(value, Text) else str(value)


def detail_text(screen: RealizationDetailScreen) -> str:
    lines = screen.query_one(LinkList)
    return "\n".join(str(lines.get_option_at_index(i).prompt) for i in range(lines.option_count))


async def open_section(pilot) -> tuple[RealizationsScreen, DataTable]:
    await pilot.press("4")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, RealizationsScreen)
    return screen, screen.query_one(DataTable)


async def test_section_lists_every_realization_with_signature_health(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    facts = demo_alive.facts
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen, table = await open_section(pilot)
        assert table.row_count == facts["counts"]["realizations"]
        assert MORE_ROW not in table.rows
        assert plain(screen.query_one("#realizations-trust", Static)).startswith(
            "Trust: 1 trusted key"
        )
        summary = plain(screen.query_one("#realizations-summary", Static))
        assert summary.startswith(f"{facts['counts']['realizations']} realizations")
        words = {
            "trusted": "trusted",
            "valid-untrusted": "valid · untrusted",
            "invalid": "invalid",
            "unsupported": "unsupported",
            "malformed": "malformed",
        }
        for status, count in facts["signature_statuses"].items():
            assert f"{count} {words[status]}" in summary
        assert f"({len(facts['absent_realization_outputs'])} absent)" in summary

        # Search by output name, Enter in the box applies it at once.
        search = screen.query_one(Input)
        search.focus()
        search.value = "glibc"
        await pilot.press("enter")
        await settle(pilot)
        assert pilot.app.focused is table
        names = {cell(table, row, 2) for row in range(table.row_count)}
        assert names and all("glibc" in name for name in names)

        # Enter opens the derivation hash's realizations (every output).
        table.move_cursor(row=0)
        await pilot.press("enter")
        await settle(pilot)
        detail = pilot.app.screen
        assert isinstance(detail, RealizationDetailScreen) and detail.drv_hash is not None
        text = detail_text(detail)
        assert "output dev →" in text and "output out →" in text and "(nix-base32)" in text
        await pilot.press("escape")
        await pilot.pause()
        assert pilot.app.screen is screen

        # o opens the output object.
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(pilot.app.screen, ObjectDetailScreen)
        assert "glibc" in pilot.app.screen.path
    store.close()


async def test_section_pages_with_a_more_row(
    demo_alive, make_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(realizations_module, "PAGE_SIZE", 15)
    store = open_demo(demo_alive)
    total = demo_alive.facts["counts"]["realizations"]
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen, table = await open_section(pilot)
        assert table.row_count == 16 and MORE_ROW in table.rows
        assert plain(screen.query_one("#realizations-summary", Static)).startswith(
            "15+ realizations"
        )
        # Reaching the "more" row loads the next page.
        while MORE_ROW in table.rows:
            table.move_cursor(row=table.row_count - 1)
            await settle(pilot)
        assert table.row_count == total
        assert plain(screen.query_one("#realizations-summary", Static)).startswith(
            f"{total} realizations"
        )
    store.close()


async def test_detail_badges_for_every_signature_case(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    cases = demo_alive.facts["signature_cases"]
    expected = {
        "tampered": (["✘ invalid"], []),
        "unsupported": (["? unsupported ("], []),
        "malformed": (["! malformed", "no key"], []),
        "untrusted_only": (["✓ valid · untrusted"], ["✔ trusted"]),
        "both_keys": (["✔ trusted", "✓ valid · untrusted"], []),
        "duplicate": (["×2"], []),
    }
    async with make_app(store).run_test(size=SIZE) as pilot:
        # The lines the detail screen shows, for each case (no screen per case: fast).
        for case, (present, absent) in expected.items():
            rows = realization_rows(store.realizations_for_path(cases[case]), pilot.app)
            text = "\n".join(str(prompt) for prompt, _link in rows)
            for wanted in present:
                assert wanted in text, (case, wanted, text)
            for unwanted in absent:
                assert unwanted not in text, (case, unwanted, text)
        # And the screen itself, for one of them.
        pilot.app.open_realizations(path=cases["both_keys"])
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RealizationDetailScreen)
        assert "✔ trusted" in detail_text(screen) and "✓ valid · untrusted" in detail_text(screen)
        assert plain(screen.query_one("#realization-trust", Static)).startswith(
            "Trust: 1 trusted key"
        )
        assert "1 trusted, 1 valid · untrusted" in plain(
            screen.query_one("#realization-summary", Static)
        )
    store.close()


async def test_detail_of_a_multi_path_realization(demo_alive, make_app) -> None:
    store = open_demo(demo_alive)
    multi = demo_alive.facts["multi_path_realization"]
    async with make_app(store).run_test(size=SIZE) as pilot:
        pilot.app.open_realizations(drv_hash=f"sha256-{multi['drv_hash_b64']}")
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, RealizationDetailScreen)
        text = detail_text(screen)
        for path in multi["paths"]:
            assert path.rsplit("/", 1)[1][:7] in text
        assert "absent from the store" in text and "one of 2 paths recorded" in text
        # The first link is the present output path: Enter opens it.
        lines = screen.query_one(LinkList)
        assert lines.link is not None and lines.link.path == multi["present"]
        await pilot.press("enter")
        await settle(pilot)
        assert (
            isinstance(pilot.app.screen, ObjectDetailScreen)
            and pilot.app.screen.path == multi["present"]
        )
    store.close()


async def test_untrusted_store_says_what_no_trusted_keys_means(demo_alive, make_app) -> None:
    store = open_demo(demo_alive, trusted=False)
    statuses = demo_alive.facts["signature_statuses"]
    async with make_app(store).run_test(size=SIZE) as pilot:
        screen, _table = await open_section(pilot)
        trust = plain(screen.query_one("#realizations-trust", Static))
        assert (
            "no trusted keys configured" in trust and "reuses every recorded realization" in trust
        )
        summary = plain(screen.query_one("#realizations-summary", Static))
        assert f"{statuses['trusted'] + statuses['valid-untrusted']} valid · untrusted" in summary
        assert " trusted," not in summary and not summary.rstrip().endswith(" trusted")
    store.close()
