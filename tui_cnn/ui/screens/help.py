"""The help screen (?): what each pane is for, in two lines, and every key."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..panes.architecture import ArchitecturePane, LayerList
from ..panes.budget import BudgetPane
from ..panes.kernels import KernelsPane
from ..panes.training import TrainingPane
from ..views import VIEWS
from .runs import RunsScreen

PANES: tuple[tuple[str, str, list[Binding]], ...] = (
    (
        "Architecture",
        "The network as a list of layers, each with the shape it outputs.\n"
        "Build the MLP (p) or a CNN layer by layer; an impossible layer turns red.",
        [*LayerList.BINDINGS, *ArchitecturePane.BINDINGS],
    ),
    (
        "Budget",
        "Parameters, multiply-adds and dense equivalent of each layer, and the total.\n"
        "A conv reuses a few weights everywhere: compare params with dense eq.",
        list(BudgetPane.BINDINGS),
    ),
    (
        "Training",
        "Trains the architecture and draws loss and accuracy (train and val) live.\n"
        "Runs land in the runs store that `cnn-tui runs` lists; h sets epochs, lr, ...",
        list(TrainingPane.BINDINGS),
    ),
    (
        "Kernels",
        "The selected layer's weights: blue negative, white zero, red positive.\n"
        "A CNN's 3x3 kernels become edge detectors; the MLP's units 28x28 templates.",
        list(KernelsPane.BINDINGS),
    ),
)

# Views whose keys are more than their footer has room for.
VIEW_KEYS: tuple[tuple[str, str, list[Binding]], ...] = (
    (
        "Runs view (r)",
        "r continues the highlighted run in the Training pane (same run id, epochs appended);\n"
        "m shows it transplanted into an MLP; d deletes the marked runs (asks first).",
        list(RunsScreen.BINDINGS),
    ),
)

GLOBAL_KEYS = (
    ("tab / shift+tab", "next / previous pane"),
    ("1 2 3 4", "go to Architecture, Budget, Training, Kernels"),
    ("t  space  x", "train, pause or resume, stop (from any pane)"),
    ("ctrl+p", "command palette: every action by name"),
    ("?", "this help"),
    ("q", "quit (asks first while a run is going)"),
)


class HelpScreen(ModalScreen[None]):
    """Keys and panes; escape, ? or q closes it."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static(self.body())

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = "Help: cnn-tui"

    def body(self) -> Table:
        """Every key by pane, generated from the bindings so it cannot drift from them."""
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        table.add_row(Text("Everywhere", style="bold"), "")
        for key, what in GLOBAL_KEYS:
            table.add_row(key, what)
        if VIEWS:
            table.add_row("", "")
            table.add_row(
                Text("Lessons", style="bold"), Text("views over the main screen; escape comes back", style="italic")
            )
            for view in VIEWS:
                table.add_row(view.key, f"{view.title}: {view.help}")
        for title, about, bindings in (*PANES, *VIEW_KEYS):
            table.add_row("", "")
            table.add_row(Text(title, style="bold"), Text(about, style="italic"))
            for binding in bindings:
                table.add_row(self.app.get_key_display(binding), binding.tooltip or binding.description)
        return table
