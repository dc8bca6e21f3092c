"""The lesson views: screens reached from the main screen by one key and a palette command.

Each view is a `View`: its key, its title, one line of help and a factory that makes
its screen from the main screen (which holds the current spec and the Training pane
with its settings, dataset, runs store and latest weights). The main screen turns
this table into bindings, the palette into commands and the help screen into rows,
so a view added here is reachable everywhere at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen

    from .main_screen import MainScreen


@dataclass(frozen=True)
class View:
    key: str
    title: str
    help: str
    make: Callable[[MainScreen], Screen]


# Views register here, one entry each (key, title, help, factory).
VIEWS: tuple[View, ...] = ()
