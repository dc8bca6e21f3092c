"""Every key of the main screen, described once: its footer word, its palette title and one line of help.

The panes' and the main screen's `BINDINGS`, the command palette and the help screen
are all built from these tables, so a key, its name and its help cannot drift apart.
The lesson views are described once too, in `views.VIEWS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    """One key: what it runs, its footer word (`label`), its palette name (`title`, None: not in the palette)."""

    key: str
    action: str
    label: str
    title: str | None = None
    help: str = ""
    key_display: str | None = None
    show: bool = True
    group: Binding.Group | None = None

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.label,
            show=self.show,
            key_display=self.key_display,
            tooltip=self.help,
            group=self.group,
        )


def bindings(actions: tuple[Action, ...]) -> list[Binding]:
    return [action.binding() for action in actions]


MOVE = Binding.Group("Move", compact=True)
UNDO = Binding.Group("Undo/redo")
FILES = Binding.Group("Save/open")
LAYER = Binding.Group("Layer", compact=True)
POSITION = Binding.Group("Position", compact=True)
# Groups of hidden keys: the help screen gives each group one row.
CYCLE = Binding.Group("next / previous pane")
PANES = Binding.Group("go to Architecture, Budget, Training, Kernels")
TRAIN = Binding.Group("train, pause or resume, stop (from any pane)")

LAYER_LIST = (
    Action("enter", "select", "Edit", "Edit the selected layer", "edit the selected layer's numbers", key_display="⏎"),
)

ARCHITECTURE = (
    Action("a", "add", "Add", "Add a layer", "add a layer after the selected one, picked from a list"),
    Action("d", "delete", "Delete", "Delete the selected layer", "delete the selected layer"),
    Action("c", "duplicate", "Copy", "Duplicate the selected layer", "duplicate the selected layer"),
    Action("shift+up", "move(-1)", "Up", "Move the layer up", "move the selected layer up", "⇧↑", group=MOVE),
    Action("shift+down", "move(1)", "Down", "Move the layer down", "move the selected layer down", "⇧↓", group=MOVE),
    Action("u", "undo", "Undo", "Undo", "undo the last change", group=UNDO),
    Action("ctrl+r", "redo", "Redo", "Redo", "redo what was undone", group=UNDO),
    Action("p", "preset", "Preset", "Load a preset", "load a preset: mlp, simple_cnn, lenet5, ..."),
    Action("colon", "line", "Line", "Type an architecture line", "type or paste the whole architecture as one line"),
    Action("s", "save", "Save", "Save the spec to a file", "save the architecture to a spec file", group=FILES),
    Action("o", "open", "Open", "Open a spec file", "open a spec file", group=FILES),
)

BUDGET = (
    Action("g", "target", "Target", "Set the parameter target", "set the parameter target (a number or a preset)"),
)

TRAINING = (
    Action("t", "start", "Train", "Train", "train the architecture (runs land in the runs store)"),
    Action("space", "pause", "Pause", "Pause or resume training", "pause or resume the run"),
    Action("x", "stop", "Stop", "Stop training", "stop the run; its record is kept"),
    Action(
        "h",
        "settings",
        "Settings",
        "Training settings",
        "epochs, batch size, learning rate, optimizer, seed, dataset, shuffled pixels",
    ),
)

KERNELS = (
    Action(
        "left_square_bracket",
        "layer(-1)",
        "Prev",
        "Previous kernel layer",
        "previous conv or linear layer",
        "[",
        group=LAYER,
    ),
    Action(
        "right_square_bracket", "layer(1)", "Next", "Next kernel layer", "next conv or linear layer", "]", group=LAYER
    ),
    Action("up", "select(0, -1)", "Up", show=False),
    Action("down", "select(0, 1)", "Down", show=False),
    Action("left", "select(-1, 0)", "Left", show=False),
    Action("right", "select(1, 0)", "Right", show=False),
    Action("v", "values", "Values", "Show kernel values", "show the selected kernel's numbers"),
    Action("n", "scale", "Scale", "Toggle kernel colour scale", "colour scale per kernel or per layer"),
    # A local layer's: the pane's check_action hides them from the footer on other layers.
    Action(
        "comma",
        "position(-1, 0)",
        "Prev position",
        "Previous position of a local layer",
        "local layer: the kernels of the previous position",
        ",",
        group=POSITION,
    ),
    Action(
        "full_stop",
        "position(1, 0)",
        "Next position",
        "Next position of a local layer",
        "local layer: the kernels of the next position",
        ".",
        group=POSITION,
    ),
    Action("shift+left", "position(-1, 0)", "Pos ←", help="local layer: position left", show=False),
    Action("shift+right", "position(1, 0)", "Pos →", help="local layer: position right", show=False),
    Action("shift+up", "position(0, -1)", "Pos ↑", help="local layer: position up", show=False),
    Action("shift+down", "position(0, 1)", "Pos ↓", help="local layer: position down", show=False),
    Action(
        "s",
        "spread",
        "Spread",
        "Spread of a local layer's kernels",
        "local layer: how each kernel differs across positions",
    ),
)

# The runs view's keys (ui/screens/runs.py). r, d and m are kept out of its footer (no room at
# 80 columns); the help screen lists them all.
RUNS = (
    Action("escape", "app.pop_screen", "Back"),
    Action("enter", "open", "Open", key_display="⏎", show=False),
    Action("space", "mark", "Mark", help="mark a run; mark two and press c to compare them, S to shift them"),
    Action("c", "compare", "Compare"),
    Action("S", "shift", "Shift", help="the two marked runs in the Shift view", show=False),
    Action("l", "load", "Load arch", help="load the run's architecture into the editor (u undoes)"),
    Action("e", "mistakes", "Mistakes"),
    Action("g", "unfold_all", "Groups", help="unfold every group into its runs, or fold them again"),
    Action("r", "resume", "Resume", help="continue the run in the Training pane (same run id)", show=False),
    Action("d", "delete", "Delete", help="delete the marked runs and their files (asks first)", show=False),
    Action("m", "transplant", "Transplant", help="the run as the MLP it is, checked on val", show=False),
)

# The main screen's own keys; t, space and x reach the Training pane from any pane.
SCREEN = (
    Action("q", "quit", "Quit", help="quit (asks first while a run is going)"),
    Action("question_mark", "help", "Help", "Help", "keys and what each pane is for", "?"),
    Action("tab", "cycle(1)", "Next pane", show=False, group=CYCLE),
    Action("shift+tab", "cycle(-1)", "Previous pane", show=False, group=CYCLE),
    *(
        Action(str(i + 1), f"pane({i})", name, f"Show the {name} pane", "focus it", show=False, group=PANES)
        for i, name in enumerate(("Architecture", "Budget", "Training", "Kernels"))
    ),
    *(Action(a.key, f"train({a.action!r})", a.label, show=False, group=TRAIN) for a in TRAINING[:3]),
)

# Where the palette runs each table's actions: a selector on the main screen, or the screen itself.
PALETTE: tuple[tuple[str, tuple[Action, ...]], ...] = (
    ("LayerList", LAYER_LIST),
    ("#architecture", ARCHITECTURE),
    ("#budget", BUDGET),
    ("#training", TRAINING),
    ("#kernels", KERNELS),
    ("screen", SCREEN),
)
