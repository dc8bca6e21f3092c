"""A sweep: architectures as groups of every seed x learning rate, in turn or one per device at once.

The CLI's `sweep` and `compare --seeds`, the ladder and the shuffled-pixels probe all train
through `Sweep` and only format what it returns. Architectures that differ cannot share a
step, so they run as separate groups; the members of one architecture (all its seeds and
lrs) train in one step, filed as one group per lr. Given several devices, one worker thread
per device takes the next architecture in order and trains it there, so N GPUs train N
groups at once; the results come back in architecture order whatever order they finish in.
After a stop (or a Ctrl-C) every running group ends interrupted and the architectures not
yet started do not start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..architecture.budget import budget_of
from ..architecture.spec import Spec
from ..store.groups import GroupSummary, by_group
from ..store.runs import RunRecord, RunStore, new_sweep_id
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


@dataclass(frozen=True)
class _Trained:
    """One architecture's group as the sweep reports it."""

    runs: list[dict[str, Any]]
    members: list[RunRecord]  # its runs as stored
    samples: int
    notice: str | None


class Sweep:
    """Trains `archs` ((name, spec) pairs) on `dataset`, each as a group of `configs`; stop from any thread.

    With `devices` (two or more), one worker thread per device: `on_event` and `on_groups`
    are then called from those threads. One device trains every group there in the calling
    thread; none (the default) leaves the configs' own device, as before devices were given.
    """

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
        devices: Sequence[torch.device | str] = (),
    ) -> None:
        self.archs, self.dataset, self.configs, self.store = list(archs), dataset, list(configs), store
        self.sweep_id = sweep_id or new_sweep_id()
        self.devices = [torch.device(d) for d in devices]
        self._on_event, self._on_groups, self._data_dir = on_event, on_groups, data_dir
        self._stop = threading.Event()
        # The queue, the running groups and the stop, seen together; re-entrant for a signal handler's
        # stop() that lands while this thread holds it (one device trains in the calling thread).
        self._lock = threading.RLock()
        self._running: dict[int, GroupRun] = {}

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            running = list(self._running.values())
        for group in running:
            group.stop()

    def run(self) -> SweepResult:
        """Train every architecture (or until a stop); a fault outside training is raised once every worker ended."""
        began = time.perf_counter()
        queue = iter(range(len(self.archs)))
        done: dict[int, _Trained] = {}
        errors: list[BaseException] = []
        workers: list[torch.device | None] = list(self.devices[: max(len(self.archs), 1)]) or [None]
        if len(workers) == 1:
            self._work(workers[0], queue, done, errors)
        else:
            threads = [
                threading.Thread(target=self._work, args=(d, queue, done, errors), name=f"sweep on {d}")
                for d in workers
            ]
            for thread in threads:
                thread.start()
            try:
                for thread in threads:
                    thread.join()
            except KeyboardInterrupt:  # Ctrl-C reaches this thread only: stop the groups, then wait for them
                self.stop()
                for thread in threads:
                    thread.join()
        if errors:
            raise errors[0]
        trained = [done[index] for index in sorted(done)]
        runs = [r for t in trained for r in t.runs]
        seconds = time.perf_counter() - began
        samples = sum(t.samples for t in trained)
        return SweepResult(
            sweep_id=self.sweep_id,
            seconds=seconds,
            samples_per_s=samples / seconds if seconds > 0 else 0.0,
            runs=runs,
            groups=by_group([m for t in trained for m in t.members]),
            status="interrupted" if self._stop.is_set() else sweep_status([r["status"] for r in runs]),
            notices=[f"{self.archs[index][0]}: {done[index].notice}" for index in sorted(done) if done[index].notice],
        )

    def _work(
        self, device: torch.device | None, queue: Iterator[int], done: dict[int, _Trained], errors: list[BaseException]
    ) -> None:
        """One worker: the next architecture in order, trained on `device`, until none is left or the sweep stops."""
        dataset = self.dataset
        if device is not None and isinstance(dataset, Dataset):
            try:  # once per worker, so each group's memory estimate reads its own device
                dataset = dataset.to(device)
            except RuntimeError:
                pass  # a device that cannot take it: each group's trainer tries again and ends its members failed
        on_device = torch.cuda.device(device) if device is not None and device.type == "cuda" else None
        with on_device or contextlib.nullcontext():  # CUDA's current device is per thread: streams, graphs
            while True:
                with self._lock:
                    index = None if self._stop.is_set() or errors else next(queue, None)
                if index is None:
                    return
                try:
                    done[index] = self._train(index, dataset, device)
                except BaseException as exc:  # noqa: BLE001 - handed to run(), after the other workers stop
                    errors.append(exc)
                    self.stop()
                    return

    def _train(self, index: int, dataset: Dataset | str, device: torch.device | None) -> _Trained:
        name, spec = self.archs[index]
        configs = self.configs if device is None else [dataclasses.replace(c, device=str(device)) for c in self.configs]
        group = GroupRun(
            spec, dataset, configs, self.store, self._member_callback(index),
            arch=name, data_dir=self._data_dir, sweep_id=self.sweep_id,
        )  # fmt: skip
        with self._lock:
            self._running[index] = group
            if self._stop.is_set():
                group.stop()
        try:
            ended = group.run()
        finally:
            with self._lock:
                del self._running[index]
        shape = dataset.input_shape if isinstance(dataset, Dataset) else None
        members = [r for group_id in group.group_ids.values() for r in self.store.members(group_id)]
        trained = _Trained(group.to_json(budget_of(spec, shape).total_params), members, group.samples(), group.notice)
        if self._on_groups is not None:
            self._on_groups(index, by_group(members))
        if any(e.status == "interrupted" for e in ended):
            self._stop.set()
        return trained

    def _member_callback(self, index: int) -> Callable[[int, Event], None] | None:
        on_event = self._on_event
        if on_event is None:
            return None
        return lambda member, event: on_event(index, member, event)
