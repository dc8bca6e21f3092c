"""Command palette entries (ctrl+p): every action by name (from `actions`), run on the pane that owns it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .actions import PALETTE
from .views import VIEWS

# (command, help, selector of the widget that runs it, action): the action tables and the views.
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    *((a.title, a.help, selector, a.action) for selector, actions in PALETTE for a in actions if a.title),
    *((view.title, view.help, "screen", f"view({i})") for i, view in enumerate(VIEWS)),
)


class PaneCommands(Provider):
    """Finds each command's widget on the main screen when it is chosen, not when listed."""

    def _run(self, selector: str, action: str) -> None:
        screen = self.screen
        if selector == "screen":
            self.app.call_later(screen.run_action, action)
            return
        matches = screen.query(selector)
        if matches:
            self.app.call_later(matches.first().run_action, action)

    def _available(self) -> bool:
        return bool(self.screen.query("#architecture"))

    async def discover(self) -> Hits:
        if not self._available():
            return
        for name, help_text, selector, action in COMMANDS:
            yield DiscoveryHit(name, partial(self._run, selector, action), help=help_text)

    async def search(self, query: str) -> Hits:
        if not self._available():
            return
        matcher = self.matcher(query)
        for name, help_text, selector, action in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self._run, selector, action), help=help_text)
