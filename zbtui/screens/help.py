"""``?``: help for the screen underneath, built from its real bindings."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Markdown

__all__ = ["HelpScreen"]

GENERAL = """\
### Everywhere

zbtui is read-only: nothing you do here can change the store.

- **1 2 3 4** switch sections (Overview, Objects, Builds, Realizations); each keeps its own history.
- **Enter** opens what is selected; **Escape** or **Backspace** goes back.
- **g** opens a store path, base name or digest prefix; **/** searches.
- **y** copies the selected path to your clipboard with OSC 52 (works over SSH
  when your terminal allows it).
- **Ctrl+P** opens the command palette with every command; the mouse works too.
"""


def _key_label(app, key: str) -> str:
    return ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    """Help for one screen: its ``HELP`` text, then every active key binding."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]

    def __init__(self, target: Screen) -> None:
        super().__init__()
        self.target = target

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(self._text())

    def _text(self) -> str:
        title = getattr(self.target, "TITLE", None) or type(self.target).__name__.removesuffix("Screen")
        parts = [f"## {title}"]
        help_text = getattr(self.target, "HELP", "")
        if help_text:
            parts.append(help_text.strip())
        rows = []
        seen: set[str] = set()
        for key, active in self.target.active_bindings.items():
            binding = active.binding
            # Hidden bindings are the widgets' own cursor keys (up, down, page
            # down …): every user knows them, and they would bury the rest.
            if not binding.description or not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            description = binding.description
            if binding.tooltip:
                description += f": {binding.tooltip}"
            if not active.enabled:
                description += " (not available here)"
            rows.append(f"| {_key_label(self.app, key)} | {description} |")
        if rows:
            parts.append("### Keys on this screen\n\n| Key | Does |\n|---|---|\n" + "\n".join(rows))
        parts.append(GENERAL)
        return "\n\n".join(parts)

    def action_dismiss(self) -> None:
        self.dismiss(None)
