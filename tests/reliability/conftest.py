"""Fixtures of the reliability tests: the CLI in-process, the recording app."""

from __future__ import annotations

import pytest
from helpers import frozen_clock
from reliability_support import RecordingApp


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``zbtui`` in-process; return (exit code, stdout, stderr).

    The browser must never start from these tests (they pass broken
    databases): a database that opens by mistake fails the test instead of
    taking over the terminal.
    """
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    monkeypatch.setenv("XDG_CONFIG_DIRS", "/nonexistent")
    monkeypatch.delenv("ZB_CONFIG_FILE", raising=False)
    monkeypatch.delenv("ZB_STORE_DIR", raising=False)
    monkeypatch.delenv("ZB_STORE_SOCKET", raising=False)
    from zbtui.__main__ import main
    from zbtui.app import ZbtuiApp

    def refuse_to_run(self, *args, **kwargs):
        raise AssertionError("the browser started on a database that should have been refused")

    monkeypatch.setattr(ZbtuiApp, "run", refuse_to_run)

    def invoke(*argv: str):
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


@pytest.fixture
def recording_app():
    """The app with a frozen clock and no change probe unless asked for."""

    def factory(store, *, watch_interval: float = 0.0, clock=frozen_clock) -> RecordingApp:
        return RecordingApp(store, theme="textual-dark", clock=clock, watch_interval=watch_interval)

    return factory
