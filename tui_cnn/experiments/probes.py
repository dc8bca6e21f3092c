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
