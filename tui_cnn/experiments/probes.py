"""The shuffled-pixels probe: each architecture trained on plain and on shuffled pixels, over seeds.

An MLP can undo any fixed reordering of its inputs in its first layer, so it should
barely notice; a CNN's small kernels assume neighbouring pixels belong together, and
the drop in its accuracy is what that assumption is worth. Training is a callable
("train this architecture on this dataset under these seeds"), so the same probe runs
on solo runs today and on groups of seeds trained at once later.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..lessons.shift import by_distance
from ..training.transforms import permuted_name, split_name

DEFAULT_PERMUTATION = 1  # the permutation's seed when none is given: mnist-5k/perm1


@dataclass(frozen=True)
class Trained:
    """An architecture's runs on one dataset, one a seed."""

    arch: str  # as the run store names it
    params: int
    val_accs: tuple[float, ...]


TrainSeeds = Callable[[str, str, Sequence[int]], Trained]  # (arch, dataset, seeds) -> their runs


def _sd(values: Sequence[float]) -> float | None:
    """The sample standard deviation; None for a single value, which has none."""
    return statistics.stdev(values) if len(values) > 1 else None


@dataclass(frozen=True)
class PermuteResult:
    """One architecture's accuracies on plain and on shuffled pixels, a seed each."""

    arch: str
    params: int
    plain: tuple[float, ...]
    permuted: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.plain)

    @property
    def plain_mean(self) -> float:
        return statistics.fmean(self.plain)

    @property
    def permuted_mean(self) -> float:
        return statistics.fmean(self.permuted)

    @property
    def plain_sd(self) -> float | None:
        return _sd(self.plain)

    @property
    def permuted_sd(self) -> float | None:
        return _sd(self.permuted)

    @property
    def change(self) -> float:
        """Shuffled minus plain mean accuracy (negative: the shuffle hurts)."""
        return self.permuted_mean - self.plain_mean

    def to_json(self) -> dict[str, Any]:
        return {
            "arch": self.arch,
            "params": self.params,
            "plain_mean": self.plain_mean,
            "plain_sd": self.plain_sd,
            "permuted_mean": self.permuted_mean,
            "permuted_sd": self.permuted_sd,
            "n": self.n,
        }


def permute_probe(
    archs: Sequence[str],
    train: TrainSeeds,
    seeds: Sequence[int],
    dataset: str = "mnist-5k",
    permutation: int = DEFAULT_PERMUTATION,
) -> list[PermuteResult]:
    """Each of `archs` trained under every seed on `dataset`, then on it shuffled by `permutation`."""
    if not seeds:
        raise ValueError("the probe needs at least one seed")
    if split_name(dataset)[1] is not None:
        raise ValueError(f"{dataset} is already shuffled; the probe compares it with its plain pixels")
    shuffled = permuted_name(dataset, permutation)
    results = []
    for arch in archs:
        plain, permuted = train(arch, dataset, seeds), train(arch, shuffled, seeds)
        results.append(PermuteResult(plain.arch, plain.params, plain.val_accs, permuted.val_accs))
    return results


@dataclass(frozen=True)
class GroupShift:
    """A group's accuracy at one shift: mean and sample sd over its members (one value each)."""

    dx: int
    dy: int
    val_acc_mean: float
    val_acc_sd: float | None

    def to_json(self) -> dict[str, Any]:
        return {"dx": self.dx, "dy": self.dy, "val_acc_mean": self.val_acc_mean, "val_acc_sd": self.val_acc_sd}


def group_shifts(members: Sequence[Sequence[tuple[int, int, float]]]) -> list[GroupShift]:
    """Members' (dx, dy, val acc) lists, each over the same shifts, as mean ± sd per shift."""
    if not members:
        raise ValueError("a group's shifts need at least one member")
    by_shift: dict[tuple[int, int], list[float]] = {}
    for shifts in members:
        for dx, dy, acc in shifts:
            by_shift.setdefault((dx, dy), []).append(acc)
    if any(len(accs) != len(members) for accs in by_shift.values()):
        raise ValueError("every member must be probed over the same shifts")
    return [GroupShift(dx, dy, statistics.fmean(accs), _sd(accs)) for (dx, dy), accs in by_shift.items()]


def ring_spread(members: Sequence[Sequence[tuple[int, int, float]]]) -> list[tuple[int, float, float | None]]:
    """(d, mean, sd) over members of each member's mean accuracy on the ring d = max(|dx|, |dy|)."""
    rings = [by_distance(list(shifts)) for shifts in members]
    out = []
    for i, (d, _) in enumerate(rings[0]):
        accs = [ring[i][1] for ring in rings]
        out.append((d, statistics.fmean(accs), _sd(accs)))
    return out
