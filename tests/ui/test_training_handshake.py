"""The Training pane's per-run handshake with a signal handler: `wait_idle` waits for the current run.

A fake trainer holds each run's thread at a gate, so the gap between a run's end message and its
thread's exit (where a `t` can start the next run) is opened on purpose rather than by chance.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tui_cnn.experiments import run as run_module
from tui_cnn.store import runs
from tui_cnn.training.events import Ended
from tui_cnn.ui.panes.training import TrainingPane

from . import apps

WIDE = (120, 40)


class Recorder:
    """Stands in for the store's recorder: records nothing, names no run."""

    run_id = None

    def __call__(self, event: object) -> None:
        pass


class GatedTrainer:
    """The first run reports its end at once, then holds its thread; later runs only hold theirs."""

    gates: list[threading.Event] = []

    def __init__(self, spec: Any, dataset: Any, config: Any, on_event: Any, **kwargs: Any) -> None:
        self.on_event = on_event
        self.gate = threading.Event()
        self.first = not GatedTrainer.gates
        GatedTrainer.gates.append(self.gate)

    def run(self) -> None:
        ended = Ended("finished", "", 1, 0.5, 0.5, 1.0, 0.1, 100.0)
        if self.first:
            self.on_event(ended)
        self.gate.wait(30)
        if not self.first:
            self.on_event(ended)

    def stop(self) -> None:
        self.gate.set()


async def test_the_old_runs_thread_ending_does_not_mark_the_new_run_idle(tmp_path: Path, monkeypatch) -> None:
    GatedTrainer.gates = []
    monkeypatch.setattr(run_module, "Trainer", GatedTrainer)
    monkeypatch.setattr(runs.RunStore, "recorder", lambda self: Recorder())
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        pane = app.main.query_one(TrainingPane)
        await pilot.press("t")
        old = pane._worker
        while pane.state != "finished":  # the end message is in; the old thread is still at its gate
            await pilot.pause(0.02)
        await pilot.press("t")
        assert pane.running and len(GatedTrainer.gates) == 2
        GatedTrainer.gates[0].set()
        assert old is not None
        await old.wait()  # the old thread has finished, all of it
        assert not pane.wait_idle(0.1)  # the new run is still going
        GatedTrainer.gates[1].set()
        assert pane.wait_idle(10)
        await app.workers.wait_for_complete()
