"""One group end to end: its members trained in one step, each recorded as a run, the failures logged.

What `Run` is to one training, `GroupRun` is to a group (see group.py): every member becomes
a run in the store with its seed and lr, filed under a group id (one per learning rate: a
group in the store is one architecture at one lr over seeds) and, for a sweep, the sweep's
id. A group too big for the memory estimate trains as several sub-groups in turn, with a
notice. A stop ends every member that started as interrupted (its record completed), and
the members of sub-groups not yet started end without a record.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..architecture.spec import Spec
from ..store.logs import LogFile, details
from ..store.runs import RunStore, new_group_id, new_sweep_id
from ..training.config import TrainConfig
from ..training.data import Dataset
from ..training.events import Ended, Event, Started
from ..training.trainer import Controls
from .group import GroupTrainer, MemberCallback, check_configs, split
from .run import run_json

log = logging.getLogger(__name__)


class GroupRun(Controls):
    """Trains `configs` (one architecture; seeds and lrs may differ) recording every member in `store`.

    `on_event(member, event)` gets each member's events (member: its index in `configs`) after
    they are recorded; `notice` holds the memory split's notice, if the group was split.
    """

    def __init__(
        self,
        spec: Spec,
        dataset: Dataset | str,
        configs: Sequence[TrainConfig],
        store: RunStore,
        on_event: MemberCallback | None = None,
        *,
        arch: str | None = None,
        data_dir: Path | str | None = None,
        sweep_id: str | None = None,
    ) -> None:
        problem = check_configs(configs)
        if problem:
            raise ValueError(problem)
        Controls.__init__(self)
        self.spec, self.configs, self.store = spec, list(configs), store
        self.arch = arch or (spec.name if spec.name != "custom" else spec.line())
        lrs = list(dict.fromkeys(c.lr for c in self.configs))
        if len(lrs) > 1 and sweep_id is None:
            sweep_id = new_sweep_id()  # groups at several lrs stay together
        self.sweep_id = sweep_id
        self.group_ids = {lr: new_group_id() for lr in lrs}
        self.recorders = [store.recorder(group_id=self.group_ids[c.lr], sweep_id=sweep_id) for c in self.configs]
        self.started: list[Started | None] = [None] * len(self.configs)
        self.ended: list[Ended | None] = [None] * len(self.configs)
        self.notice: str | None = None
        self._dataset, self._data_dir, self._on_event = dataset, data_dir, on_event
        self._trainer: GroupTrainer | None = None
        self.seconds = 0.0

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.recorders]

    def pause(self) -> None:
        Controls.pause(self)
        if self._trainer is not None:
            self._trainer.pause()

    def resume(self) -> None:
        Controls.resume(self)
        if self._trainer is not None:
            self._trainer.resume()

    def stop(self) -> None:
        Controls.stop(self)
        if self._trainer is not None:
            self._trainer.stop()

    def run(self) -> list[Ended]:
        """Train every sub-group in turn; every member's `Ended`, in member order. Never raises for a training fault."""
        began = time.perf_counter()
        first = self.configs[0]
        parts: list[list[int]] = [list(range(len(self.configs)))]
        if isinstance(self._dataset, Dataset):
            spec = dataclasses.replace(self.spec, input_shape=self._dataset.input_shape)
            batch = min(first.batch_size, len(self._dataset.x_train))
            sub, self.notice = split(self.configs, spec, batch, self._dataset.device)
            sizes = [len(g) for g in sub]
            parts = [list(range(sum(sizes[:i]), sum(sizes[: i + 1]))) for i in range(len(sizes))]
        with LogFile(self.store.root):
            for members in parts:
                if self._stop.is_set():
                    for k in members:
                        self._fanout(
                            k, Ended("interrupted", "stopped before its group started", 0, None, None, None, 0.0, 0.0)
                        )
                    continue
                self._train(members)
        self.seconds = time.perf_counter() - began
        return [e for e in self.ended if e is not None]

    def _train(self, members: list[int]) -> None:
        configs = [self.configs[k] for k in members]

        def on_event(index: int, event: Event) -> None:
            self._fanout(members[index], event)

        self._trainer = GroupTrainer(
            self.spec, self._dataset, configs, on_event, arch=self.arch, data_dir=self._data_dir
        )
        if self.paused:
            self._trainer.pause()
        if self._stop.is_set():  # a stop between the last check and the trainer's making
            self._trainer.stop()
        self._trainer.run()
        self._trainer = None

    def _fanout(self, member: int, event: Event) -> None:
        if isinstance(event, Ended) and event.status == "failed":
            log.error("run %s failed: %s", self.recorders[member].run_id, event.message)
            event = dataclasses.replace(event, message=event.message + details(self.store.root))
        self.recorders[member](event)
        if isinstance(event, Started):
            self.started[member] = event
        elif isinstance(event, Ended):
            self.ended[member] = event
        if self._on_event is not None:
            self._on_event(member, event)

    def to_json(self, params: int) -> list[dict[str, Any]]:
        """Each member as `cnn-tui train --json` prints a run, with its seed, lr and group."""
        out = []
        for k, (config, recorder) in enumerate(zip(self.configs, self.recorders, strict=True)):
            ended, started = self.ended[k], self.started[k]
            assert ended is not None
            run_id = recorder.run_id if started else None
            member = run_json(run_id, self.arch, params, started, ended, config.device)
            extra = {"seed": config.seed, "lr": config.lr, "group_id": recorder.group_id, "sweep_id": self.sweep_id}
            out.append({**member, **extra})
        return out

    def samples(self) -> int:
        """Every member's training samples so far (its train size times the epochs it finished)."""
        return sum(s.train_size * e.epochs_done for s, e in zip(self.started, self.ended, strict=True) if s and e)
