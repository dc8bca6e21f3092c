"""The help screen (?): what each pane is for, in two lines, and every key."""

from __future__ import annotations

from collections.abc import Callable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..actions import ARCHITECTURE, BUDGET, KERNELS, LAYER_LIST, RUNS, SCREEN, TRAINING, Action
from ..views import VIEWS

PANES: tuple[tuple[str, str, tuple[Action, ...]], ...] = (
    (
        "Architecture",
        "The network as a list of layers, each with the shape it outputs.\n"
        "Build the MLP (p) or a CNN layer by layer; an impossible layer turns red.",
        (*LAYER_LIST, *ARCHITECTURE),
    ),
    (
        "Budget",
        "Parameters, multiply-adds and dense equivalent of each layer, and the total.\n"
        "A conv reuses a few weights everywhere: compare params with dense eq.",
        BUDGET,
    ),
    (
        "Training",
        "Trains the architecture and draws loss and accuracy (train and val) live.\n"
        "Runs land in the runs store that `cnn-tui runs` lists; h sets epochs, lr, ...",
        TRAINING,
    ),
    (
        "Kernels",
        "The selected layer's weights: blue negative, white zero, red positive.\n"
        "A CNN's 3x3 kernels become edge detectors; the MLP's units 28x28 templates.",
        KERNELS,
    ),
    (
        "Runs view (r)",
        "r continues the highlighted run in the Training pane (same run id, epochs appended);\n"
        "m shows it transplanted into an MLP; d deletes the marked runs (asks first).",
        RUNS,
    ),
)
PALETTE_ROW = ("ctrl+p", "command palette: every action by name")


def screen_rows(actions: tuple[Action, ...], key_display: Callable[[Binding], str]) -> list[tuple[str, str]]:
    """(keys, what) rows for the main screen's keys: one row per key, or one per group of keys."""
    rows: list[tuple[str, str]] = []
    group = None
    for action in actions:
        key = key_display(action.binding())
        if action.group is not None and action.group == group:
            rows[-1] = (f"{rows[-1][0]} / {key}", rows[-1][1])
            continue
        group = action.group
        rows.append((key, action.group.description if action.group else action.help or action.label))
    return rows


# Keys several lesson views share, listed once under them.
LESSON_KEYS = (("u", "in the maps, fields and mistakes views, on shuffled pixels: the digit unshuffled beside it"),)


class HelpScreen(ModalScreen[None]):
    """Keys and panes; escape, ? or q closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(self.body())

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Help: cnn-tui"

    def body(self) -> Table:
        """Every key by pane, generated from the action tables the bindings are made of, so it cannot drift."""
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        table.add_row(Text("Everywhere", style="bold"), "")
        for key, what in (*screen_rows(SCREEN, self.app.get_key_display), PALETTE_ROW):
            table.add_row(key, what)
        if VIEWS:
            table.add_row("", "")
            table.add_row(
                Text("Lessons", style="bold"), Text("views over the main screen; escape comes back", style="italic")
            )
            for view in VIEWS:
                table.add_row(view.key, f"{view.title}: {view.help}")
            for key, what in LESSON_KEYS:
                table.add_row(key, what)
        for title, about, actions in PANES:
            table.add_row("", "")
            table.add_row(Text(title, style="bold"), Text(about, style="italic"))
            for action in actions:
                table.add_row(self.app.get_key_display(action.binding()), action.help or action.label)
        return table
