"""What the app was started with, in one frozen value handed from the app to the main screen and its panes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..training.config import TrainConfig


@dataclass(frozen=True)
class AppOptions:
    """The command line's options, and the keyword-only ones that make tests and snapshots repeatable."""

    config: TrainConfig  # the Training pane's first settings
    dataset: str = "mnist-5k"
    runs_dir: str | None = None
    data_dir: str | None = None
    device_label: str | None = None  # shown instead of looking the device up: snapshots mask the machine
    show_volatile: bool = True  # False masks what differs between identical runs: samples/s, times, run ids
    torch_threads: int | None = None  # torch's CPU threads in the training thread (None: torch's default)
    spec_dir: Path = Path()  # where spec files are saved and listed for opening
