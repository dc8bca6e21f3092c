"""The ladder drawn: a bar a rung on a log scale of parameters, then its accuracy with an error bar.

Pure: rung results in, a Rich `Text` out, so a test reads the cells. The parameter bar's
length is the rung's place on whole decades (`compare.params_axis`): dense_cnn's 1,040,866
reach three decades past simple_cnn's 5,274. The accuracy gauge runs from 5 points below
the lowest (mean - sd) to 100%, filled to the mean, with `├─┤` over mean ± sd.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ...experiments.ladder import RUNGS, RungResult
from ...store.compare import accuracy_axis, params_axis, short_count

NAME_W, COUNT_W, ACC_W = 11, 11, 14  # "simple_cnn ", " 1,040,866 ", " 94.1% ± 0.3"
PARAMS_COLOR, ACC_COLOR, BAR_COLOR = "#4e9ddb", "#f0a030", "bold white"


def gauge(mean: float, sd: float | None, lo: float, hi: float, cells: int) -> list[tuple[str, str]]:
    """An accuracy gauge of `cells` cells: filled to the mean, `├─┤` over mean ± sd where it spans two cells."""

    def cell(v: float) -> int:
        return min(cells - 1, max(0, round((v - lo) / ((hi - lo) or 1.0) * (cells - 1))))

    at = cell(mean)
    out = [("█" if c < at else "┃" if c == at else "·", ACC_COLOR if c <= at else "dim") for c in range(cells)]
    if sd is not None:
        left, right = cell(mean - sd), cell(mean + sd)
        if right > left:
            for c in range(left, right + 1):
                out[c] = ("├" if c == left else "┤" if c == right else "┼" if c == at else "─", BAR_COLOR)
    return out


def ladder_bars(results: Sequence[RungResult], params: dict[str, int], width: int, training: str | None) -> Text:
    """Every rung, measured or not: its parameter bar, its count, its accuracy gauge and mean ± sd.

    `params` holds every rung's count (from the budget), so unmeasured rungs get their bar too;
    `training` names the rung being trained now, if any.
    """
    by_arch = {r.arch: r for r in results}
    room = max(10, width - NAME_W - COUNT_W - ACC_W - 4)
    params_w, acc_w = room * 11 // 20, room - room * 11 // 20
    x = params_axis(list(params.values()))
    lows = [r.val_acc_mean - (r.val_acc_sd or 0.0) for r in results if r.val_acc_mean is not None]
    y = accuracy_axis(lows)
    text = Text()
    text.append(" " * NAME_W + "parameters, log scale".ljust(params_w + COUNT_W + 2), style="bold")
    text.append(f"val acc {y.lo:.0%}..100%, mean ± sd over seeds\n", style="bold")
    for rung in RUNGS:
        count = params[rung.arch]
        text.append(rung.arch.ljust(NAME_W), style="bold")
        length = x.place(count, params_w) + 1
        text.append("█" * length, style=PARAMS_COLOR)
        text.append(" " * (params_w - length))
        text.append(f"{count:>{COUNT_W},} ", style="bold")
        text.append(" ")
        result = by_arch.get(rung.arch)
        if result is None or result.val_acc_mean is None:
            state = "training…" if rung.arch == training else "not trained yet"
            text.append("·" * acc_w, style="dim")
            text.append(f" {state}\n", style="yellow" if rung.arch == training else "dim")
            continue
        for ch, style in gauge(result.val_acc_mean, result.val_acc_sd, y.lo, y.hi, acc_w):
            text.append(ch, style=style)
        sd = f" ± {result.val_acc_sd * 100:.1f}" if result.val_acc_sd is not None else ""
        text.append(f" {result.val_acc_mean:.1%}{sd}\n")
    ticks = [" "] * params_w
    decade = x.lo
    while decade <= x.hi:
        label = short_count(decade)
        start = max(0, min(x.place(decade, params_w) - len(label) // 2, params_w - len(label)))
        ticks[start : start + len(label)] = label
        decade *= 10
    text.append(" " * NAME_W + "".join(ticks[:params_w]), style="dim")
    return text
