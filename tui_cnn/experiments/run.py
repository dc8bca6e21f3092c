"""One training run end to end: the trainer, its record in the runs store, the log of a failure.

The CLI's `train` and `compare` and the app's Training pane all train through `Run`, and
only format the events it hands on and the `Ended` it returns; so a run trained anywhere
is recorded, logged and reported the same way. A failed run's traceback goes to the log
file beside the store, and its message (as recorded, shown and returned) says where.
`continuation` is the one check before a run is continued (`train --resume`, the app's
runs view), so both refuse the same things in the same words.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from ..architecture.spec import Spec
from ..store.logs import LogFile, details
from ..store.runs import RunRecord, RunStore, StoreError
from ..training.checkpoint import resume_config
from ..training.config import TrainConfig
from ..training.data import Dataset
from ..training.events import Callback, Checkpoint, Ended, Event, Started
from ..training.trainer import Trainer

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Continuation:
    """A stored run, its last checkpoint and the config it goes on with: what `Run(resume=...)` takes."""

    record: RunRecord
    checkpoint: Checkpoint
    config: TrainConfig

    @property
    def resume(self) -> tuple[RunRecord, Checkpoint]:
        return self.record, self.checkpoint


def continuation(
    store: RunStore, run_id: str, given: dict[str, Any], *, line: str | None = None, dataset: str | None = None
) -> Continuation:
    """Check that `run_id` can go on with the `given` config changes (epochs: the new total).

    `line` and `dataset`, when given, must be the run's own. ValueError, one line for the
    user, for a run that is unknown, still running, has no usable checkpoint, or would change
    what cannot change mid-run. Reads the checkpoint (imports torch).
    """
    record = store.get(run_id)
    if record is None:
        raise ValueError(f"no run {run_id!r} in {store.root}")
    if record.status == "running":
        raise ValueError(f"run {record.run_id} is still running")
    if line is not None and line != record.line:
        raise ValueError(f"the architecture cannot change when resuming (run {record.run_id} is {record.line!r})")
    if dataset is not None and dataset != record.dataset:
        raise ValueError(f"the dataset cannot change when resuming (run {record.run_id} used {record.dataset})")
    try:
        checkpoint = store.load_checkpoint(record.run_id)
    except StoreError as exc:
        raise ValueError(str(exc)) from exc
    return Continuation(record, checkpoint, resume_config(record.config, given, checkpoint.epoch))


class Run:
    """Trains `spec` once, recording every event in `store`; pause, resume and stop from any thread."""

    def __init__(
        self,
        spec: Spec,
        dataset: Dataset | str,
        config: TrainConfig,
        store: RunStore,
        on_event: Callback | None = None,
        *,
        arch: str | None = None,
        data_dir: Path | str | None = None,
        resume: tuple[RunRecord, Checkpoint] | None = None,
    ) -> None:
        """`resume`: a stored run and its last checkpoint, continued under the same id."""
        self.store = store
        self.recorder = store.recorder(resume[0], resume[1].epoch) if resume else store.recorder()
        self.started: Started | None = None
        self._on_event = on_event
        checkpoint = resume[1] if resume else None
        self.trainer = Trainer(spec, dataset, config, self._event, arch=arch, data_dir=data_dir, resume=checkpoint)

    @property
    def run_id(self) -> str:
        return self.recorder.run_id

    def pause(self) -> None:
        self.trainer.pause()

    def resume(self) -> None:
        self.trainer.resume()

    def stop(self) -> None:
        self.trainer.stop()

    @property
    def paused(self) -> bool:
        return self.trainer.paused

    def run(self) -> Ended:
        """Train to the end or a stop; never raises for a training fault (see `Trainer.run`)."""
        self._ended: Ended | None = None
        with LogFile(self.store.root):
            ended = self.trainer.run()
        return self._ended or ended

    def _event(self, event: Event) -> None:
        self.recorder(event)
        if isinstance(event, Started):
            self.started = event
        elif isinstance(event, Ended):
            if event.status == "failed":
                log.error("run %s failed: %s", self.run_id, event.message)
                event = dataclasses.replace(event, message=event.message + details(self.store.root))
            self._ended = event
        if self._on_event is not None:
            self._on_event(event)

    def to_json(self, params: int) -> dict[str, Any]:
        """The run as `cnn-tui train --json` prints it."""
        assert self._ended is not None
        return run_json(self.run_id, self.trainer.arch, params, self.started, self._ended, self.trainer.config.device)


def run_json(
    run_id: str | None, arch: str, params: int, started: Started | None, ended: Ended, device: str
) -> dict[str, Any]:
    """One run as `cnn-tui train --json` prints it (`device`: the configured one, for a run that never started)."""
    return {
        "run_id": run_id,
        "arch": arch,
        "params": params,
        "dataset": started.dataset if started else None,
        "epochs": ended.epochs_done,
        "train_loss": ended.train_loss,
        "val_acc": ended.final_val_acc,
        "best_val_acc": ended.best_val_acc,
        "seconds": round(ended.seconds, 3),
        "samples_per_s": round(ended.samples_per_s, 1),
        "device": started.device if started else device,
        "status": ended.status,
    }
