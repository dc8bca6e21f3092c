"""Command palette entries (ctrl+p): every pane action by name, run on the pane that owns it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .views import VIEWS

# (command, help, selector of the widget that runs it, action)
COMMANDS: tuple[tuple[str, str, str, str], ...] = (
    ("Add a layer", "pick a layer kind and insert it after the selected layer", "#architecture", "add"),
    ("Edit the selected layer", "change its numbers in a checked form", "#architecture", "edit"),
    ("Delete the selected layer", "remove it (u undoes)", "#architecture", "delete"),
    ("Duplicate the selected layer", "insert a copy below it", "#architecture", "duplicate"),
    ("Move the layer up", "swap it with the one above", "#architecture", "move(-1)"),
    ("Move the layer down", "swap it with the one below", "#architecture", "move(1)"),
    ("Undo", "go back to the previous architecture", "#architecture", "undo"),
    ("Redo", "go forward again after an undo", "#architecture", "redo"),
    ("Load a preset", "the seed's mlp and simple_cnn, lenet5 and more", "#architecture", "preset"),
    ("Type an architecture line", "e.g. conv 8 s2 | relu | flatten | linear 10", "#architecture", "line"),
    ("Save the spec to a file", "a spec file the CLI reads too", "#architecture", "save"),
    ("Open a spec file", "load an architecture from a .spec file", "#architecture", "open"),
    ("Set the parameter target", "the bar under the budget (default: the MLP's 39,760)", "#budget", "target"),
    ("Train", "start a run of the current architecture", "#training", "start"),
    ("Pause or resume training", "the run waits between steps", "#training", "pause"),
    ("Stop training", "end the run now; its record is kept", "#training", "stop"),
    ("Training settings", "epochs, batch size, learning rate, optimizer, seed, dataset", "#training", "settings"),
    ("Previous kernel layer", "show the weights of the previous conv or linear layer", "#kernels", "layer(-1)"),
    ("Next kernel layer", "show the weights of the next conv or linear layer", "#kernels", "layer(1)"),
    ("Show kernel values", "the selected kernel's numbers", "#kernels", "values"),
    ("Toggle kernel colour scale", "per kernel or per layer", "#kernels", "scale"),
    ("Next position of a local layer", "the kernels of the next output position", "#kernels", "position(1, 0)"),
    ("Previous position of a local layer", "the kernels of the previous position", "#kernels", "position(-1, 0)"),
    ("Spread of a local layer's kernels", "how each kernel differs across positions", "#kernels", "spread"),
    ("Show the Architecture pane", "focus it (the only pane shown on small terminals)", "screen", "pane(0)"),
    ("Show the Budget pane", "focus it", "screen", "pane(1)"),
    ("Show the Training pane", "focus it", "screen", "pane(2)"),
    ("Show the Kernels pane", "focus it", "screen", "pane(3)"),
    ("Help", "keys and what each pane is for", "screen", "help"),
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
