"""Hostile build logs reach the terminal inert, through ``zbtui query log``
and through the log view, checked on what would be written to the terminal.

Each family of escape sequence a builder can print is written into a real
build log of a demo store, between two visible words. What comes out must
hold the words and nothing a terminal acts on: no OSC (clipboard, title,
links), no CSI but SGR colours (and, in the UI, Textual's own cursor
positioning), no DCS/APC/PM/SOS, no C0 or C1 control but newline.
"""

from __future__ import annotations

import json
import os

import pytest
from helpers import open_demo
from reliability_support import screen_text, settle, terminal_output, terminal_problems

from zbtui.screens.log import LogScreen
from zbtui.widgets.log_view import LogView

ST = "\x1b\\"

FAMILIES: dict[str, tuple[str, str | None]] = {
    # name: (sequence, text it must leave visible between the two words;
    # None: the sequence runs to the end of its line)
    "OSC 52 clipboard write (BEL)": ("\x1b]52;c;cm0gLXJmIH4vKgo=\x07", ""),
    "OSC 52 clipboard write (ST)": ("\x1b]52;p;cm0gLXJmIH4vKgo=" + ST, ""),
    "OSC 52 clipboard query": ("\x1b]52;c;?\x07", ""),
    "OSC 0 title": ("\x1b]0;you have been pwned\x07", ""),
    "OSC 2 title": ("\x1b]2;you have been pwned" + ST, ""),
    "OSC 8 hyperlink": ("\x1b]8;;https://evil.example/" + ST + "click here\x1b]8;;" + ST, "click here"),
    "OSC 7 cwd and OSC 1337": ("\x1b]7;file:///etc\x07\x1b]1337;File=inline=1:AAAA\x07", ""),
    "CSI cursor up/down/position": ("\x1b[5A\x1b[3B\x1b[10;10H\x1b[2C\x1b[4D\x1b[H\x1b[1;1f", ""),
    "CSI erase line and screen": ("\x1b[2K\x1b[1J\x1b[2J\x1b[3J", ""),
    "CSI save/restore cursor, scroll region": ("\x1b[s\x1b[u\x1b7\x1b8\x1b[1;5r\x1bM\x1bD", ""),
    "full reset (RIS)": ("\x1bc", ""),
    "private modes: alt screen, mouse, paste": ("\x1b[?1049h\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?25l", ""),
    "terminal queries (answer typed back)": ("\x1b[6n\x1b[c\x1b[>c\x1b[21t\x1b[14t\x1b[?996n", ""),
    "DCS (DECRQSS, sixel)": ("\x1bP$q\"p" + ST + "\x1bPq#0;2;0;0;0#0~~@@vv@@~~" + ST, ""),
    "APC (kitty graphics)": ("\x1b_Gf=100,a=T;iVBORw0KGgo=" + ST, ""),
    "PM and SOS": ("\x1b^private message" + ST + "\x1bXstart of string" + ST, ""),
    "bells": ("\x07\x07\x07", ""),
    "8-bit C1 controls (as UTF-8)": ("\u009b2J\u009d0;title\u009c\u0090dcs\u009c\u0085\u0084\u008d\u0096", ""),
    "other C0 controls and DEL": ("\x00\x08\x0b\x0c\x0e\x0f\x1a\x7f", ""),
    "charset switching": ("\x1b(0\x1b)0\x1b*B\x1b#8", ""),
    "keypad and misc ESC": ("\x1b=\x1b>\x1bN\x1bO", ""),
    # Swallows the rest of its line (abandoned at the newline): nothing shown.
    "unterminated OSC": ("\x1b]52;c;" + "A" * 200, None),
    "bidi override": ("\u202e", "\ufffd"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(demo, build id, drv path, log path) of a real result whose log each test overwrites."""
    from helpers import NOW_MS

    from zbtui.demo.builder import build_demo_store

    demo = build_demo_store(str(tmp_path_factory.mktemp("hostile-logs")), now_ms=NOW_MS, heartbeat="stale")
    log = demo.facts["hostile_log"]
    build_id = os.path.basename(os.path.dirname(log))
    store = open_demo(demo)
    drv = next(r.drv_path for r in store.build(build_id).results if r.log.path == log)
    store.close()
    return demo, build_id, drv, log


def line_for(name: str, sequence: str) -> bytes:
    tag = "".join(c for c in name if c.isalnum())[:12]
    return f"\x1b[1;31mBEFORE{tag}\x1b[0m {sequence} AFTER{tag}\n".encode()


def expected_text(name: str, kept: str | None) -> str:
    tag = "".join(c for c in name if c.isalnum())[:12]
    if kept is None:
        return f"BEFORE{tag} "
    return f"BEFORE{tag} {kept} AFTER{tag}"


@pytest.mark.parametrize("family", list(FAMILIES))
def test_query_log_renders_each_family_inert(family, hostile, cli):
    demo, build_id, drv, log = hostile
    sequence, kept = FAMILIES[family]
    with open(log, "wb") as handle:
        handle.write(b"first line\n" + line_for(family, sequence) + b"last line\n")
    code, out, err = cli("query", "log", build_id, drv, "--db", demo.db_path, "--log-dir", demo.log_dir)
    assert code == 0, err
    assert terminal_problems(out, allow_cup=False) == []
    # Colours stay (SGR), and the words around the sequence are there.
    assert "\x1b[1;31m" in out
    plain = out.replace("\x1b[1;31m", "").replace("\x1b[0m", "")
    assert plain.splitlines() == ["first line", expected_text(family, kept), "last line"]
    code, out, err = cli("query", "log", build_id, drv, "--json", "--db", demo.db_path, "--log-dir", demo.log_dir)
    text = json.loads(out)["text"]
    assert terminal_problems(text.replace("\n", ""), allow_cup=False) == []
    assert code == 0


def test_query_log_raw_c1_bytes_and_invalid_utf8(hostile, cli):
    demo, build_id, drv, log = hostile
    with open(log, "wb") as handle:
        handle.write(b"a\x9b2Jb \x9d0;t\x07c \xff\xfe\xc3 d\n")
    code, out, err = cli("query", "log", build_id, drv, "--db", demo.db_path, "--log-dir", demo.log_dir)
    assert code == 0 and terminal_problems(out, allow_cup=False) == []
    # A raw 0x9B is not UTF-8: it shows as U+FFFD followed by plain text.
    assert out == "a\ufffd2Jb \ufffd0;tc \ufffd\ufffd\ufffd d\n"


async def test_log_view_renders_every_family_inert(hostile, make_app):
    """Every family on its own line of one log, as the log view draws it."""
    demo, build_id, drv, log = hostile
    with open(log, "wb") as handle:
        handle.write(b"first line\n")
        for family, (sequence, _kept) in FAMILIES.items():
            handle.write(line_for(family, sequence))
        handle.write(b"a\x9b2Jb \xff\xfe raw bytes\nlast line\n")
    store = open_demo(demo)
    app = make_app(store)
    async with app.run_test(size=(160, len(FAMILIES) + 12)) as pilot:
        await settle(pilot)
        app.open_log(build_id, drv)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LogScreen)
        view = screen.query_one(LogView)
        assert view.line_count == len(FAMILIES) + 3
        assert view.max_scroll_y == 0, "every line is on screen"
        assert terminal_problems(terminal_output(app)) == []
        shown = screen_text(app)
        for family, (_sequence, kept) in FAMILIES.items():
            assert expected_text(family, kept) in shown, family
        assert "a\ufffd2Jb \ufffd\ufffd raw bytes" in shown
        # Colours survived as styles, not as escapes in the text.
        for index in range(1, len(FAMILIES) + 1):
            strip = view.line_strip(index)
            assert strip is not None and "\x1b" not in strip.text
            assert any(seg.style is not None and seg.style.color is not None and seg.style.bold for seg in strip)
    store.close()
