"""A sweep: architectures in turn, each one group of every seed x learning rate, under one sweep id.

The CLI's `sweep` and `compare --seeds`, the ladder and the shuffled-pixels probe all train
through `Sweep` and only format what it returns. Architectures that differ cannot share a
step, so they run as separate groups one after the other; the members of one architecture
(all its seeds and lrs) train in one step, filed as one group per lr. After a stop (or a
Ctrl-C inside a group) the architectures not yet started do not start.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..architecture.budget import budget_of
from ..architecture.spec import Spec
from ..store.groups import GroupSummary, by_group
from ..store.runs import RunStore, new_sweep_id
from ..training.config import TrainConfig
from ..training.data import Dataset
from ..training.events import Event
from .group_run import GroupRun

SweepCallback = Callable[[int, int, Event], None]  # (architecture index, member index, event)
GroupsDone = Callable[[int, list[GroupSummary]], None]  # (architecture index, its groups as stored)


def member_configs(base: TrainConfig, seeds: Sequence[int], lrs: Sequence[float]) -> list[TrainConfig]:
    """One config per (lr, seed), lr by lr: `base` with that seed and learning rate."""
    return [dataclasses.replace(base, seed=s, lr=lr) for lr in lrs for s in seeds]


def sweep_status(statuses: Sequence[str]) -> str:
    """The sweep's status from its members': interrupted over failed over diverged over finished."""
    for status in ("interrupted", "failed", "diverged"):
        if status in statuses:
            return status
    return "finished"


@dataclass(frozen=True)
class SweepResult:
    sweep_id: str
    seconds: float
    samples_per_s: float  # every member's training samples together, over the sweep's wall time
    runs: list[dict[str, Any]]  # each member as `train --json` gives a run, with its seed, lr and group
    groups: list[GroupSummary]  # as stored, in training order
    status: str
    notices: list[str]  # memory splits

    def to_json(self) -> dict[str, Any]:
        return {
            "sweep_id": self.sweep_id,
            "seconds": round(self.seconds, 3),
            "samples_per_s": round(self.samples_per_s, 1),
            "runs": self.runs,
            "groups": [group_json(g) for g in self.groups],
        }


GROUP_KEYS = ("group_id", "arch", "params", "lr", "n", "val_acc_mean", "val_acc_sd", "val_acc_min", "val_acc_max")


def group_json(g: GroupSummary) -> dict[str, Any]:
    """A group as `sweep --json` lists it: the summary's keys the sweep's JSON promises."""
    found = g.to_json()
    return {key: found[key] for key in GROUP_KEYS}


class Sweep:
    """Trains `archs` ((name, spec) pairs) on `dataset`, each as a group of `configs`; stop from any thread."""

    def __init__(
        self,
        archs: Sequence[tuple[str, Spec]],
        dataset: Dataset | str,
        configs: Sequence[TrainConfig],
        store: RunStore,
        on_event: SweepCallback | None = None,
        on_groups: GroupsDone | None = None,
        *,
        data_dir: Path | str | None = None,
        sweep_id: str | None = None,
    ) -> None:
        self.archs, self.dataset, self.configs, self.store = list(archs), dataset, list(configs), store
        self.sweep_id = sweep_id or new_sweep_id()
        self._on_event, self._on_groups, self._data_dir = on_event, on_groups, data_dir
        self._stop = threading.Event()
        self._current: GroupRun | None = None

    def stop(self) -> None:
        self._stop.set()
        current = self._current
        if current is not None:
            current.stop()

    def run(self) -> SweepResult:
        began = time.perf_counter()
        runs: list[dict[str, Any]] = []
        notices: list[str] = []
        samples = 0
        stored: list = []  # this run's members as stored, group by group
        for index, (name, spec) in enumerate(self.archs):
            if self._stop.is_set():
                break
            group = GroupRun(
                spec, self.dataset, self.configs, self.store, self._member_callback(index),
                arch=name, data_dir=self._data_dir, sweep_id=self.sweep_id,
            )  # fmt: skip
            self._current = group
            if self._stop.is_set():
                group.stop()
            ended = group.run()
            self._current = None
            if group.notice:
                notices.append(f"{name}: {group.notice}")
            shape = self.dataset.input_shape if isinstance(self.dataset, Dataset) else None
            runs += group.to_json(budget_of(spec, shape).total_params)
            samples += group.samples()
            members = [r for group_id in group.group_ids.values() for r in self.store.members(group_id)]
            stored += members
            if self._on_groups is not None:
                self._on_groups(index, by_group(members))
            if any(e.status == "interrupted" for e in ended):
                self._stop.set()
        seconds = time.perf_counter() - began
        return SweepResult(
            sweep_id=self.sweep_id,
            seconds=seconds,
            samples_per_s=samples / seconds if seconds > 0 else 0.0,
            runs=runs,
            groups=by_group(stored),
            status="interrupted" if self._stop.is_set() else sweep_status([r["status"] for r in runs]),
            notices=notices,
        )

    def _member_callback(self, index: int) -> Callable[[int, Event], None] | None:
        on_event = self._on_event
        if on_event is None:
            return None
        return lambda member, event: on_event(index, member, event)
