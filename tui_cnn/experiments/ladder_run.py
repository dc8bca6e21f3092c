"""The ladder trained: every rung a seed group on the same data, reported rung by rung as it finishes.

`ladder_sweep` is what the CLI's `ladder` and an app's Ladder view call: a `Sweep` over the
rungs (stop it from any thread) whose `on_rung` hears each rung's `RungResult` as soon as
its group is stored, so a view can fill in live. The arithmetic stays in ladder.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..architecture.presets import preset
from ..store.groups import GroupSummary, by_group, groups
from ..store.runs import RunStore
from ..training.config import TrainConfig
from ..training.data import Dataset
from .ladder import RUNGS, Rung, RungResult
from .sweep import Sweep, SweepCallback, member_configs

RungCallback = Callable[[RungResult], None]


def rung_result(rung: Rung, group: GroupSummary) -> RungResult:
    """A rung's result from its stored group: the finished seeds' accuracy, mean and sample sd."""
    acc = group.val_acc
    return RungResult(rung.arch, group.params, rung.locality, rung.sharing, acc.n, acc.mean, acc.sd)


def ladder_results(groups: Sequence[GroupSummary]) -> list[RungResult]:
    """The rungs, in ladder order, from a ladder sweep's groups (a rung with no group is left out)."""
    by_arch = {g.arch: g for g in groups}
    return [rung_result(rung, by_arch[rung.arch]) for rung in RUNGS if rung.arch in by_arch]


def ladder_sweep(
    dataset: Dataset | str,
    base: TrainConfig,
    seeds: Sequence[int],
    store: RunStore,
    on_rung: RungCallback | None = None,
    on_event: SweepCallback | None = None,
    *,
    data_dir: Path | str | None = None,
    devices: Sequence[torch.device | str] = (),
) -> Sweep:
    """The ladder as a sweep, ready to `run()`: each rung one group of `seeds` under `base`'s settings.

    With several `devices`, the rungs train one per device at once (see `Sweep`).
    """

    def on_groups(index: int, groups: list[GroupSummary]) -> None:
        if on_rung is not None and groups:
            on_rung(rung_result(RUNGS[index], groups[0]))

    archs = [(rung.arch, preset(rung.arch)) for rung in RUNGS]
    configs = member_configs(base, seeds, [base.lr])
    return Sweep(archs, dataset, configs, store, on_event, on_groups, data_dir=data_dir, devices=devices)


@dataclass(frozen=True)
class StoredLadder:
    """A ladder sweep found in the store: its id, its data and its rungs as measured."""

    sweep_id: str
    dataset: str
    rungs: list[RungResult]


def newest_ladder(store: RunStore) -> StoredLadder | None:
    """The newest ladder in the store: a sweep whose groups are the ladder's first rungs (two at least; a stopped
    ladder keeps the rungs it finished), or None. What the app's Ladder view shows before it trains one.

    The rungs are taken in ladder order, not the order they started in: a ladder over several
    devices starts its rungs at once, and the store files them as they start.
    """
    order = [rung.arch for rung in RUNGS]
    rank = {arch: i for i, arch in enumerate(order)}
    seen: set[str] = set()
    for group in groups(store):  # newest first
        if group.sweep_id is None or group.sweep_id in seen or group.arch not in order:
            continue
        seen.add(group.sweep_id)
        found = sorted(by_group(store.members(group.sweep_id)), key=lambda g: rank.get(g.arch, len(order)))
        archs = [g.arch for g in found]
        if len(archs) >= 2 and archs == order[: len(archs)]:
            return StoredLadder(group.sweep_id, found[0].dataset, ladder_results(found))
    return None
