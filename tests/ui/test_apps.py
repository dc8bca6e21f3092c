"""The UI tests' own helpers: a wait for the first step that cannot hang, and training on one torch thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from tui_cnn.experiments import run as run_module
from tui_cnn.training import trainer as trainer_module
from tui_cnn.ui.panes.training import TrainingPane

from . import apps

WIDE = (120, 40)


class FailingTrainer:
    """A run that fails before its first step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def run(self) -> None:
        raise ValueError("no data today")

    def stop(self) -> None:
        pass


class SilentTrainer(FailingTrainer):
    """A run that never makes a step until it is stopped."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.stopped = threading.Event()

    def run(self) -> None:
        self.stopped.wait(30)

    def stop(self) -> None:
        self.stopped.set()


async def test_first_step_fails_at_once_when_the_run_ends_before_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(run_module, "Trainer", FailingTrainer)
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        pane = app.main.query_one(TrainingPane)
        await pilot.press("t")
        with pytest.raises(AssertionError, match="ended before its first step: failed ValueError: no data today"):
            await apps.first_step(pilot, pane)


async def test_first_step_gives_up_at_its_deadline(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(run_module, "Trainer", SilentTrainer)
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        pane = app.main.query_one(TrainingPane)
        await pilot.press("t")
        with pytest.raises(AssertionError, match="no step within 0 s"):
            await apps.first_step(pilot, pane, deadline_s=0.3)
        await pilot.press("x")
        await app.workers.wait_for_complete()


def test_train_runs_trains_on_one_torch_thread_and_restores_the_count(tmp_path: Path, mnist5k, monkeypatch) -> None:
    seen: list[int] = []

    class Spy(FailingTrainer):
        def run(self) -> None:
            seen.append(torch.get_num_threads())

    monkeypatch.setattr(trainer_module, "Trainer", Spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        apps.train_runs(tmp_path, ("mlp", "simple_cnn"), mnist5k)
        assert seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
