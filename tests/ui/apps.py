"""The app as the UI tests drive it: repeatable on any machine."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from tui_cnn.app import CnnTuiApp
from tui_cnn.training.config import TrainConfig

from ..threads import one_torch_thread

if TYPE_CHECKING:
    from textual.pilot import Pilot

    from tui_cnn.store.runs import RunRecord
    from tui_cnn.training.data import Dataset
    from tui_cnn.ui.panes.training import TrainingPane

STEP_DEADLINE_S = 60.0  # a first step takes about a second here; a run that failed early never makes one


async def settle(pilot: Pilot) -> None:
    """Let the screen's thread workers (torch, the store, a forward pass) finish and their results land."""
    await pilot.pause()
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def keys(*pressed: str):
    """A snapshot's run_before: each key pressed, and what it started let finish."""

    async def run_before(pilot: Pilot) -> None:
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def text(app: CnnTuiApp, selector: str) -> str:
    """What a Static on the current screen shows, as plain text (tables, grids and pictures too)."""
    from textual.widgets import Static

    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


def help_text(app: CnnTuiApp) -> str:
    """The open help screen's body as plain text, as a reader sees it at 120 columns."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(app.screen.body())
    return console.export_text()


def make_app(
    tmp_path: Path,
    arch: str = "simple_cnn",
    *,
    runs_dir: Path | None = None,
    dataset: str = "mnist-5k",
    **config: object,
) -> CnnTuiApp:
    """CPU, one torch thread (the same sums on any core count), the device label fixed, timings masked."""
    settings = {"epochs": 1, "batch_size": 64, "seed": 0, "device": "cpu", **config}
    return CnnTuiApp(
        arch=arch,
        dataset=dataset,
        config=TrainConfig(**settings),
        runs_dir=str(runs_dir or tmp_path / "runs"),
        spec_dir=tmp_path,
        device_label="CPU",
        show_volatile=False,
        torch_threads=1,
    )


def train_runs(root: Path, archs: tuple[str, ...], data: Dataset, **config: object) -> None:
    """Train each preset in turn into the store at `root` (seed 0, CPU, one torch thread), for views to show."""
    from tui_cnn.architecture.presets import preset
    from tui_cnn.store.runs import RunStore
    from tui_cnn.training.trainer import Trainer

    settings = {"epochs": 1, "seed": 0, "device": "cpu", **config}
    store = RunStore(root)
    try:
        with one_torch_thread():
            for arch in archs:
                Trainer(preset(arch), data, TrainConfig(**settings), store.recorder()).run()
    finally:
        store.close()


def records(root: Path) -> list[RunRecord]:
    """The runs in the store at `root`, newest first, with the store closed again."""
    from tui_cnn.store.runs import RunStore

    store = RunStore(root)
    try:
        return store.runs()
    finally:
        store.close()


async def first_step(pilot: Pilot, pane: TrainingPane, deadline_s: float = STEP_DEADLINE_S) -> None:
    """Wait until the pane's run has made a step; a run that ends first, or takes too long, fails the test."""
    deadline = time.monotonic() + deadline_s
    while not pane.steps:
        ended = f"the run ended before its first step: {pane.state} {pane.message}"
        assert pane.state in ("starting", "running"), ended
        assert time.monotonic() < deadline, f"no step within {deadline_s:.0f} s: {pane.state} {pane.message}"
        await pilot.pause(0.05)


async def initial_weights_drawn(pilot: Pilot, deadline_s: float = STEP_DEADLINE_S) -> None:
    """Let the main screen draw its initial weights (debounced, then a thread): pictures that do not race them."""
    main = pilot.app.main
    deadline = time.monotonic() + deadline_s
    while main.initial_pending:
        assert time.monotonic() < deadline, f"no initial weights within {deadline_s:.0f} s"
        await pilot.pause(0.05)
    await pilot.pause()
