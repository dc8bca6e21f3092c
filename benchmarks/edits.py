"""Edits are instant: a 30-layer spec's budget and shapes, and a 16x16 grid of 3x3 kernels drawn.

    python benchmarks/edits.py

Times, in this process, what an edit costs the app: `budget.rows` (every layer's
shape, parameters and multiply-adds) for a 30-layer spec, also with parsing its line
first; and the Kernels pane's drawing of a conv layer with 16 in and 16 out channels
(256 kernels of 3x3): colour levels, the tiled picture with the selected kernel
framed, and every terminal line of it as segments (what the pane's grid widget
crops from); and the same layer in the app's Kernels pane, as the CPU time from new
weights arriving to the screen painted (`run_test`, 120x40). Each figure is the
median of its repeats after a warm-up. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.spec import or_raise, parse_line
from tui_cnn.ui.widgets import heatmap

# 30 layers: 13 conv/relu pairs (two of them stride 2) and a head, all shapes valid.
LINE = " | ".join(["conv 8 | relu"] * 6 + ["conv 16 s2 | relu"] + ["conv 16 | relu"] * 5 + ["conv 32 s2 | relu"])
LINE += " | flatten | linear 64 | relu | linear 10"
APP_LINE = "conv 16 | relu | conv 16 | relu | flatten | linear 10"  # layer 2: 16 out x 16 in kernels


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    for _ in range(max(3, repeat // 10)):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def kernel_grid(weights: np.ndarray, columns: int) -> list:
    """The Kernels pane's drawing of one conv layer: levels, tiles, then every line's segments."""
    maps = weights.reshape(-1, *weights.shape[2:])
    lv = heatmap.levels(maps, heatmap.max_abs(maps))
    return heatmap.Picture(heatmap.tile(lv, selected=17, columns=columns)).lines()


async def kernels_pane_ms(weights: np.ndarray, repeat: int) -> float:
    """The same layer in the app's Kernels pane: CPU time from new weights to the painted screen."""
    from tui_cnn.app import CnnTuiApp
    from tui_cnn.ui.messages import WeightSnapshot
    from tui_cnn.ui.panes.kernels import KernelsPane

    app = CnnTuiApp(arch=APP_LINE, device_label="CPU", show_volatile=False)
    painted = asyncio.Event()

    def display(*a: object, **k: object) -> None:
        paint(*a, **k)
        painted.set()

    paint, app._display = app._display, display
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.screen.query_one(KernelsPane)
        pane.current = [w.index for w in pane.choices].index(2)  # the 16x16 conv
        spec = pane.spec
        for i in range(repeat + 3):
            await pilot.pause()
            snapshot = WeightSnapshot(spec, i, 1, {2: weights * (1 + i / repeat)}, final=True)
            painted.clear()
            start = time.thread_time()
            pane.show_weights(snapshot)
            await painted.wait()
            times.append(time.thread_time() - start)
    return statistics.median(times[3:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--app-repeat", type=int, default=30, help="redraws of the Kernels pane in the app")
    args = parser.parse_args()
    spec = or_raise(parse_line(LINE))
    assert len(spec.layers) == 30 and budget_of(spec).ok, "the benchmark spec must be valid"
    edit = lambda: budget_of(or_raise(parse_line(LINE)))  # noqa: E731 - what a typed line costs
    weights = np.random.default_rng(0).normal(0, 0.3, size=(16, 16, 3, 3)).astype(np.float32)
    print(
        json.dumps(
            {
                "benchmark": "edits",
                "layers": len(spec.layers),
                "budget_ms_median": round(median_ms(lambda: budget_of(spec), args.repeat), 3),
                "parse_and_budget_ms_median": round(median_ms(edit, args.repeat), 3),
                "kernels": weights.shape[0] * weights.shape[1],
                "kernel_grid_ms_median": round(median_ms(lambda: kernel_grid(weights, 16), args.repeat), 3),
                "kernels_pane_ms_median": round(asyncio.run(kernels_pane_ms(weights, args.app_repeat)), 3),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
