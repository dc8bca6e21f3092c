"""The ladder: simple_cnn's geometry one change at a time, so each part of the saving has a name.

`dense_cnn` connects simple_cnn's layer sizes fully (neither locality nor sharing), `local_cnn`
keeps each unit's small neighbourhood but gives every position its own kernel (locality),
and `simple_cnn` shares one kernel across positions (locality and sharing); the seed's `mlp`
stands beside them. Parameters 1,040,866 -> 51,762 -> 5,274: locality saves 20.1x, then
sharing 9.8x. Pure arithmetic over the budget and measured accuracies: no torch here.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from ..architecture.budget import budget_of
from ..architecture.presets import preset


@dataclass(frozen=True)
class Rung:
    """One architecture of the ladder and which of the two ideas it keeps."""

    arch: str  # a preset name
    locality: bool  # each unit sees a small neighbourhood of the layer below
    sharing: bool  # the same kernel at every position


RUNGS: tuple[Rung, ...] = (
    Rung("mlp", locality=False, sharing=False),
    Rung("dense_cnn", locality=False, sharing=False),
    Rung("local_cnn", locality=True, sharing=False),
    Rung("simple_cnn", locality=True, sharing=True),
)


def rung_params(input_shape: tuple[int, ...] | None = None) -> dict[str, int]:
    """Every rung's parameter count from its budget (on the presets' 1x28x28 unless told)."""
    return {rung.arch: budget_of(preset(rung.arch), input_shape).total_params for rung in RUNGS}


@dataclass(frozen=True)
class Factors:
    """How many times fewer parameters each idea buys, one after the other."""

    locality: float  # dense_cnn / local_cnn
    sharing: float  # local_cnn / simple_cnn


def factors(params: Mapping[str, int]) -> Factors:
    """The parameters saved by locality (dense_cnn over local_cnn), then by sharing (local_cnn over simple_cnn)."""
    return Factors(params["dense_cnn"] / params["local_cnn"], params["local_cnn"] / params["simple_cnn"])


@dataclass(frozen=True)
class RungResult:
    """One rung as measured: its seeds' validation accuracies summarised."""

    arch: str
    params: int
    locality: bool
    sharing: bool
    n: int  # seeds that finished
    val_acc_mean: float | None  # 0..1; None before any seed finished
    val_acc_sd: float | None  # sample standard deviation; None below two seeds

    def to_json(self) -> dict:
        return asdict(self)


def measured(rung: Rung, params: int, accuracies: Sequence[float]) -> RungResult:
    """A rung's result from its seeds' final validation accuracies."""
    accs = list(accuracies)
    mean = statistics.fmean(accs) if accs else None
    sd = statistics.stdev(accs) if len(accs) > 1 else None
    return RungResult(rung.arch, params, rung.locality, rung.sharing, len(accs), mean, sd)


def _change(before: RungResult, after: RungResult) -> str:
    """The accuracy from one rung to the next in words: a gain, a loss or no change, in points."""
    assert before.val_acc_mean is not None and after.val_acc_mean is not None
    points = (after.val_acc_mean - before.val_acc_mean) * 100
    if round(abs(points), 1) == 0:
        return "no change in accuracy"
    return f"a {abs(points):.1f}-point {'gain' if points > 0 else 'loss'} in accuracy"


def verdict(results: Sequence[RungResult]) -> str:
    """The ladder's result in one sentence, from the rungs measured so far.

    "locality cuts the parameters 20.1x for a 1.2-point loss in accuracy, and sharing
    cuts them 9.8x more for a 0.4-point gain": each step compares the two rungs either
    side of it, once both have an accuracy.
    """
    by_arch = {r.arch: r for r in results if r.val_acc_mean is not None}
    steps = []
    for idea, before, after in (("locality", "dense_cnn", "local_cnn"), ("sharing", "local_cnn", "simple_cnn")):
        if before in by_arch and after in by_arch:
            a, b = by_arch[before], by_arch[after]
            steps.append((idea, a.params / b.params, _change(a, b)))
    if not steps:
        return "no two neighbouring rungs measured yet: train the ladder to see what locality and sharing buy"
    if len(steps) == 1:
        idea, times, change = steps[0]
        return f"{idea} cuts the parameters {times:.1f}x for {change}"
    (_, t1, c1), (_, t2, c2) = steps
    return f"locality cuts the parameters {t1:.1f}x for {c1}, and sharing cuts them {t2:.1f}x more for {c2}"
