"""Groups folded: the members of one architecture at one learning rate, over seeds, as one line.

One run of one seed cannot tell 94.1% from 94.3%; a group can, with its mean and spread. A
group is every run with the same `group_id` (see `RunStore.recorder`); a sweep (`sweep_id`)
holds several. The statistics count the members that finished: a diverged or interrupted
member is listed, never averaged in. Pure arithmetic over records and curves: the CLI's
`runs` and the app's runs view fold the same way.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .runs import EpochMetrics, RunRecord, RunStore


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation (None below two values), min and max of some values."""

    n: int
    mean: float | None
    sd: float | None
    min: float | None
    max: float | None


def spread(values: Sequence[float]) -> Spread:
    """The values' spread; an empty sequence has no mean."""
    if not values:
        return Spread(0, None, None, None, None)
    sd = statistics.stdev(values) if len(values) > 1 else None
    return Spread(len(values), statistics.fmean(values), sd, min(values), max(values))


@dataclass(frozen=True)
class GroupSummary:
    """A group as one line: what its members share, and their final validation accuracy's spread."""

    group_id: str
    sweep_id: str | None
    arch: str
    line: str
    params: int
    dataset: str
    lr: float | None  # None if the members' learning rates differ
    status: str  # "finished" when every member did; else the count of each status, "3 finished, 1 diverged"
    run_ids: tuple[str, ...]  # oldest first
    seeds: tuple[int | None, ...]
    epochs_done: int  # the most any member trained
    seconds: float  # the longest member's: they trained side by side
    created: str  # the first member's
    val_acc: Spread  # over the finished members

    @property
    def members(self) -> int:
        return len(self.run_ids)

    def to_json(self) -> dict[str, Any]:
        acc = self.val_acc
        return {
            "group_id": self.group_id,
            "sweep_id": self.sweep_id,
            "arch": self.arch,
            "params": self.params,
            "dataset": self.dataset,
            "lr": self.lr,
            "status": self.status,
            "members": self.members,
            "n": acc.n,
            "val_acc_mean": acc.mean,
            "val_acc_sd": acc.sd,
            "val_acc_min": acc.min,
            "val_acc_max": acc.max,
            "epochs_done": self.epochs_done,
            "seconds": self.seconds,
            "created": self.created,
            "run_ids": list(self.run_ids),
            "seeds": list(self.seeds),
        }


def _status(records: Sequence[RunRecord]) -> str:
    counts: dict[str, int] = {}
    for r in records:
        counts[r.status] = counts.get(r.status, 0) + 1
    if set(counts) == {"finished"}:
        return "finished"
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summarise(records: Sequence[RunRecord]) -> GroupSummary:
    """One group's members, oldest first (as `RunStore.members` gives them), as its summary."""
    members = sorted(records, key=lambda r: r.created)  # stable: members started in one second keep their order
    first = members[0]
    lrs = {r.lr for r in members}
    finished = [r.final_val_acc for r in members if r.status == "finished" and r.final_val_acc is not None]
    return GroupSummary(
        group_id=first.group_id or first.run_id,
        sweep_id=first.sweep_id,
        arch=first.arch,
        line=first.line,
        params=first.params,
        dataset=first.dataset,
        lr=first.lr if len(lrs) == 1 else None,
        status=_status(members),
        run_ids=tuple(r.run_id for r in members),
        seeds=tuple(r.seed for r in members),
        epochs_done=max(r.epochs_done for r in members),
        seconds=max(r.seconds for r in members),
        created=first.created,
        val_acc=spread(finished),
    )


def fold(records: Sequence[RunRecord]) -> list[RunRecord | GroupSummary]:
    """Runs newest first (as `RunStore.runs` gives them) with each group folded once, where its newest member was."""
    by_group: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.group_id is not None:
            by_group.setdefault(r.group_id, []).append(r)
    folded: list[RunRecord | GroupSummary] = []
    for r in records:
        if r.group_id is None:
            folded.append(r)
        elif r.group_id in by_group:
            folded.append(summarise(by_group.pop(r.group_id)[::-1]))
    return folded


def groups(store: RunStore, records: Sequence[RunRecord] | None = None) -> list[GroupSummary]:
    """Every group in the store (or among `records`), newest first."""
    return [g for g in fold(store.runs() if records is None else records) if isinstance(g, GroupSummary)]


def by_group(records: Sequence[RunRecord]) -> list[GroupSummary]:
    """Records oldest first (a sweep's, as `RunStore.members` gives them) as their groups, in training order."""
    members: dict[str, list[RunRecord]] = {}
    for r in records:
        if r.group_id is not None:
            members.setdefault(r.group_id, []).append(r)
    return [summarise(group) for group in members.values()]


BAND_CSV_COLUMNS = (
    "group_id", "epoch", "n", "val_acc_mean", "val_acc_sd", "val_loss_mean", "val_loss_sd",
    "train_loss_mean", "train_loss_sd", "train_acc_mean", "train_acc_sd",
)  # fmt: skip


@dataclass(frozen=True)
class EpochBand:
    """One epoch of a group's curve: the members' mean and spread (for a curve drawn with a band)."""

    epoch: int
    val_acc: Spread
    val_loss: Spread
    train_loss: Spread
    train_acc: Spread

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"epoch": self.epoch, "n": self.val_acc.n}
        for name in ("val_acc", "val_loss", "train_loss", "train_acc"):
            s: Spread = getattr(self, name)
            out[f"{name}_mean"], out[f"{name}_sd"] = s.mean, s.sd
        return out


def bands(curves: Sequence[Sequence[EpochMetrics]]) -> list[EpochBand]:
    """Members' curves as one band an epoch, over the members that reached it."""
    epochs = sorted({m.epoch for curve in curves for m in curve})
    out = []
    for epoch in epochs:
        at = [m for curve in curves for m in curve if m.epoch == epoch]
        out.append(
            EpochBand(
                epoch,
                spread([m.val_acc for m in at]),
                spread([m.val_loss for m in at]),
                spread([m.train_loss for m in at]),
                spread([m.train_acc for m in at]),
            )
        )
    return out


def group_bands(store: RunStore, summary: GroupSummary) -> list[EpochBand]:
    """A stored group's curve as bands."""
    return bands([store.metrics(run_id) for run_id in summary.run_ids])
