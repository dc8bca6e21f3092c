"""The lesson views: screens reached from the main screen by one key and a palette command.

Each view is a `View`: its key, its title, one line of help and a factory that makes
its screen from a `LessonContext` (the current spec, the dataset, the stores, a way to
read the latest weights), which the main screen builds. The main screen turns
this table into bindings, the palette into commands and the help screen into rows,
so a view added here is reachable everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .screens.features import FeaturesScreen
from .screens.fields import RFScreen
from .screens.ladder import LadderScreen
from .screens.matrix import MatrixScreen
from .screens.mistakes import MistakesScreen
from .screens.runs import RunsScreen
from .screens.shift import ShiftScreen
from .screens.templates import TemplatesScreen

if TYPE_CHECKING:
    from textual.screen import Screen

    from .screens.context import LessonContext


@dataclass(frozen=True)
class View:
    key: str
    title: str
    short: str  # a word for the main screen's bar
    help: str
    make: Callable[[LessonContext], Screen]


# Views register here, one entry each (key, title, short name, help, factory).
VIEWS: tuple[View, ...] = (
    View(
        "m", "Conv as a matrix", "matrix", "a conv layer unrolled: mostly zeros, a few weights repeated", MatrixScreen
    ),
    View("f", "Receptive fields", "fields", "how much of the digit one unit of each layer sees", RFScreen),
    View(
        "i",
        "Feature maps",
        "maps",
        "a digit through the network: every layer's activations, the prediction",
        FeaturesScreen,
    ),
    View(
        "w",
        "Templates vs kernels",
        "templates",
        "the MLP's 50 28x28 templates beside the CNN's 4 3x3 kernels",
        TemplatesScreen,
    ),
    View(
        "r",
        "Runs",
        "runs",
        "every run, groups folded (enter, g unfold): open, compare two, load, continue, delete, transplant;"
        " params vs accuracy",
        RunsScreen,
    ),
    View("e", "Mistakes", "mistakes", "the latest run's confusion matrix and its surest wrong answers", MistakesScreen),
    View(
        "l",
        "The ladder",
        "ladder",
        "sharing or locality: mlp, dense_cnn, local_cnn, simple_cnn as seed groups; t trains it",
        LadderScreen,
    ),
    View(
        "S",
        "Shifted digits",
        "shift",
        "the newest mlp and simple_cnn runs (or two marked in the runs view) on digits moved up to 4 pixels",
        ShiftScreen,
    ),
)
