"""Runs side by side: a run's architecture and model, the runs to compare, and where each lands
on the params-vs-accuracy scatter.

The scatter's x axis is log10 of the parameter count, so 5,274 and 39,760 parameters sit
almost a decade apart while equal accuracies share a row: the seed's point at a glance.
Everything here is plain data (cells, ratios); the runs screen only draws it. torch is
imported only by `load_model`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ..architecture.spec import ParseError, Spec, parse_line
from ..training.transforms import split_name
from .runs import RunRecord, RunStore, StoreError

if TYPE_CHECKING:
    from torch import nn

KEYS = "123456789abcdefghijklmnopqrstuvwxyz"  # a scatter point's key, the same as its row in the runs table


def key_of(index: int) -> str:
    """A row's key on the scatter: 1-9, then a-z, then a dot."""
    return KEYS[index] if index < len(KEYS) else "·"


def run_spec(record: RunRecord) -> Spec | ParseError:
    """The architecture a run trained, named as the run was (a preset or file name), else custom.

    A run records its arch (the spec's name, or its line when it had none) and its line;
    every dataset here is 1x28x28, the default input shape.
    """
    name = record.arch if record.arch and "|" not in record.arch and " " not in record.arch else "custom"
    return parse_line(record.line, name=name)


def load_model(store: RunStore, record: RunRecord) -> nn.Sequential:
    """The run's trained model on the CPU in eval mode; StoreError if its weights are missing or do not fit."""
    from ..lessons.models import model_from

    spec = run_spec(record)
    if isinstance(spec, ParseError):
        raise StoreError(f"run {record.run_id} has an architecture this version cannot read: {spec}")
    try:
        return model_from(spec, store.load_weights(record.run_id))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise StoreError(f"the weights of run {record.run_id} do not fit {record.line}: {first[:200]}") from exc


def newest(records: Sequence[RunRecord], arch: str, status: str = "finished") -> RunRecord | None:
    """The newest run of `arch` with this status (records come newest first, as `RunStore.runs` gives them)."""
    return next((r for r in records if r.arch == arch and r.status == status), None)


SHIFT_PAIR = ("mlp", "simple_cnn")  # the seed's two architectures: the Shift view's default pair


def shift_pair(records: Sequence[RunRecord]) -> tuple[RunRecord, RunRecord] | None:
    """The two finished runs the Shift view compares when none are picked, or None if there are not two.

    The newest mlp and simple_cnn runs (the seed's question); where one is missing, the
    newest run of another architecture stands in; with a single architecture, its two
    newest runs. Runs on plain pixels come first: a shuffled run beside a plain one would
    compare the shuffle, not the architectures.
    """
    finished = [r for r in records if r.status == "finished"]
    plain = [r for r in finished if split_name(r.dataset)[1] is None]
    return _pair(plain) or _pair(finished)


def _pair(done: list[RunRecord]) -> tuple[RunRecord, RunRecord] | None:
    picked = [r for r in (newest(done, arch) for arch in SHIFT_PAIR) if r is not None]
    for r in done:
        if len(picked) == 2:
            break
        if r.arch not in {p.arch for p in picked}:
            picked.append(r)
    picked += [r for r in done if r not in picked][: 2 - len(picked)]
    return (picked[0], picked[1]) if len(picked) == 2 else None


def accuracy(record: RunRecord) -> float | None:
    """The accuracy a run is judged by: its final validation accuracy (None before its first epoch)."""
    return record.final_val_acc


@dataclass(frozen=True)
class Comparison:
    """Run b against run a: how many times the parameters and time, and the accuracy gap."""

    params_ratio: float  # a.params / b.params: above 1, b is that many times smaller
    acc_points: float | None  # (b - a) val accuracy in percentage points
    time_ratio: float | None  # b.seconds / a.seconds


def compare(a: RunRecord, b: RunRecord) -> Comparison:
    acc_a, acc_b = accuracy(a), accuracy(b)
    points = (acc_b - acc_a) * 100 if acc_a is not None and acc_b is not None else None
    time_ratio = b.seconds / a.seconds if a.seconds > 0 and b.seconds > 0 else None
    return Comparison(a.params / b.params if b.params else math.inf, points, time_ratio)


@dataclass(frozen=True)
class Axis:
    """A value range mapped onto `cells` cells, linearly or by log10."""

    lo: float
    hi: float
    log: bool = False

    def _unit(self, value: float) -> float:
        if self.log:
            lo, hi, v = math.log10(self.lo), math.log10(self.hi), math.log10(max(value, 1e-12))
        else:
            lo, hi, v = self.lo, self.hi, value
        return (v - lo) / (hi - lo) if hi > lo else 0.0

    def place(self, value: float, cells: int) -> int:
        """The cell (0 .. cells-1) of a value; values out of range are clamped to the ends."""
        return min(cells - 1, max(0, round(self._unit(value) * (cells - 1))))


def params_axis(params: Sequence[int]) -> Axis:
    """Whole decades around the parameter counts (10 .. 100 at least): the log x axis."""
    values = [p for p in params if p > 0] or [1000]
    lo = 10 ** math.floor(math.log10(min(values)))
    hi = 10 ** math.ceil(math.log10(max(values)))
    return Axis(lo, hi if hi > lo else lo * 10, log=True)


def accuracy_axis(accs: Sequence[float]) -> Axis:
    """From 5 points below the lowest accuracy (rounded up to 5 points) to 100%: the y axis."""
    lowest = min(accs, default=0.95)
    return Axis(round(math.ceil(round(lowest * 20, 9)) / 20 - 0.05, 2), 1.0)


def short_count(n: float) -> str:
    """100, 1k, 10k, 1M: the tick labels of the params axis."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if n >= size:
            return f"{n / size:g}{suffix}"
    return f"{n:g}"


class Point(NamedTuple):
    """One run, or one group as its mean with an error bar (`low`..`high`), for the scatter."""

    params: int
    acc: float | None
    name: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Mark:
    """One point on the scatter: its cell, its key, its label (placed right or left of it, or none), its bar.

    Points that land on one cell share one mark: the first (newest) is `shown`, and its label
    names the keys of the others (" simple_cnn +2"), so no key hides under another.
    """

    index: int  # into the points given to `scatter`
    col: int
    row: int
    key: str
    label: str
    label_col: int | None  # first cell of the label, None where it does not fit (or not shown)
    shown: bool = True  # False: another point holds this cell, and its label names this key
    bar: tuple[int, int] | None = None  # the error bar's top and bottom rows, where it spans more than the mark


@dataclass(frozen=True)
class Scatter:
    x: Axis
    y: Axis
    x_ticks: list[tuple[int, str]]  # (column, label) of each decade
    y_ticks: list[tuple[int, str]]  # (row, label) of the top, bottom and every 5 points between
    marks: list[Mark]


def _place_label(taken: list[list[bool]], row: int, col: int, label: str) -> int | None:
    """The first cell of a label right of its mark where the cells are free, else left, else None; claims them."""
    width = len(taken[row])
    for start in (col + 1, col - len(label)):
        span = range(start, start + len(label))
        if start >= 0 and span.stop <= width and not any(taken[row][c] for c in span):
            for c in span:
                taken[row][c] = True
            return start
    return None


def scatter(points: Sequence[Point | tuple[int, float | None, str]], width: int, height: int) -> Scatter:
    """Points (params, accuracy, name[, low, high]) placed on a width x height plot: log10 params across, accuracy up.

    Points without an accuracy are left out (their index is skipped, keys stay those of
    the runs table). Marks and error bars claim their cells first; then a label goes
    right of its mark where the cells are free, else left, else it is dropped, earlier
    points (newer runs) first. So no label overwrites a mark, a bar or another label.
    """
    width, height = max(2, width), max(2, height)
    plotted = [(i, Point(*p)) for i, p in enumerate(points) if p[1] is not None]
    x = params_axis([p.params for _, p in plotted])
    y = accuracy_axis([v for _, p in plotted for v in (p.acc, p.low) if v is not None])
    taken = [[False] * width for _ in range(height)]

    def row_of(acc: float) -> int:
        return height - 1 - y.place(acc, height)

    cells: dict[tuple[int, int], list[int]] = {}  # (row, col) -> the points there, first shown
    bars: dict[int, tuple[int, int]] = {}
    for i, p in plotted:
        assert p.acc is not None
        col, row = x.place(p.params, width), row_of(p.acc)
        cells.setdefault((row, col), []).append(i)
        taken[row][col] = True
        if p.low is not None and p.high is not None:
            top, bottom = row_of(max(p.high, p.acc)), row_of(min(p.low, p.acc))
            if bottom > top:
                bars[i] = (top, bottom)
                for r in range(top, bottom + 1):
                    taken[r][col] = True
    marks = []
    for (row, col), here in cells.items():
        first, *others = here
        label = f" {points[first][2]}" + (f" +{','.join(key_of(k) for k in others)}" if others else "")
        label_col = _place_label(taken, row, col, label)
        marks.append(Mark(first, col, row, key_of(first), label, label_col, True, bars.get(first)))
        marks += [Mark(k, col, row, key_of(k), "", None, False, bars.get(k)) for k in others]
    marks.sort(key=lambda m: m.index)
    x_ticks = []
    decade = x.lo
    while decade <= x.hi:
        x_ticks.append((x.place(decade, width), short_count(decade)))
        decade *= 10
    steps = round((y.hi - y.lo) * 20)
    y_ticks = [(height - 1 - y.place(y.lo + k / 20, height), f"{(y.lo + k / 20) * 100:.0f}%") for k in range(steps + 1)]
    return Scatter(x, y, x_ticks, y_ticks, marks)
