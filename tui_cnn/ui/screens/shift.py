"""Shifted digits (S): two runs' validation accuracy with every digit moved by (dx, dy).

The runs are two picked on the runs screen (space marks, S opens), else the newest mlp
and simple_cnn runs (`store.compare.shift_pair`). Both are probed over [-4, 4]^2 by
`lessons.shift.shift_accuracy`, the function `cnn-tui probe shift` prints, in a thread
worker with a progress bar: about 3 s on one loaded CPU core for the two seed models
(medians of 3: mlp 0.45 s, simple_cnn 2.6 s). The curves average each ring of shifts
(`by_distance`); the grids give every (dx, dy); the arrows move a cursor over the grids,
and the digit under it is drawn moved, with what both networks answer (`shifted_digit`:
what the probe fed them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, ProgressBar

from ...lessons.shift import accuracy_grid, by_distance
from ...training.transforms import split_name
from ..failures import unexpected
from ..widgets import digit, heatmap
from ..widgets.chart import Series, y_range
from ..widgets.curves import CurveChart
from ..widgets.info import Info
from ..widgets.segments import SegmentLines

if TYPE_CHECKING:
    from ...lessons.shift import Shift
    from ...store.runs import RunRecord, RunStore
    from .context import LessonContext

MAX_K = 4  # the 9x9 grid of the issue: shifts up to 4 pixels each way
COLORS = ("#4e9ddb", "#f0a030")  # run A, run B: the curves and the names over their grids
CURSOR = Style(bgcolor="#ffd700", color="black", bold=True)
NEEDS_TWO = (
    "the Shift view needs two finished runs: `cnn-tui train mlp` and `cnn-tui train simple_cnn` make them"
    " (or t on the main screen)"
)


@dataclass(frozen=True)
class Probe:
    """What the worker found: the two runs, each one's accuracy per shift, and the digits to move."""

    records: tuple[RunRecord, RunRecord]
    results: tuple[list[Shift], list[Shift]]
    classes: tuple[str, ...]
    labels: list[int]
    plain: np.ndarray  # uint8 [N, H, W]: the validation digits in their own pixel order


@dataclass(frozen=True)
class Look:
    """One digit at one shift: its pixels moved, and both networks' class probabilities."""

    index: int
    shift: tuple[int, int]
    pixels: np.ndarray  # uint8 [H, W]
    probs: tuple[np.ndarray, np.ndarray]


def grid_text(grid: list[list[float]], cursor: tuple[int, int]) -> Text:
    """Accuracy over (dx, dy) as coloured cells, in percent: the deeper the blue, the more digits right."""
    k = len(grid) // 2
    levels = heatmap.levels(-np.asarray(grid, dtype=np.float64), 1.0)
    text = Text("dy╲dx", style="dim")
    text.append("".join(f"{dx:>+4d} " if dx else "   0 " for dx in range(-k, k + 1)) + "\n", style="bold")
    for row, dy in enumerate(range(-k, k + 1)):
        text.append(f"{dy:>+4d} " if dy else "   0 ", style="bold")
        for col, dx in enumerate(range(-k, k + 1)):
            level = int(levels[row, col])
            dark = abs(level - heatmap.ZERO) > heatmap.ZERO * 0.55
            style = Style(bgcolor=heatmap.color(level), color="white" if dark else "black", bold=dx == dy == 0)
            text.append(f"{grid[row][col] * 100:4.0f} ", CURSOR if (dx, dy) == cursor else style)
        if row < 2 * k:
            text.append("\n")
    return text


class ShiftScreen(Screen):
    """Accuracy against shift for two runs: curves, two grids, and the digit at the cursor; escape goes back."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("up", "move(0, -1)", "Up", show=False),
        Binding("down", "move(0, 1)", "Down", show=False),
        Binding("left", "move(-1, 0)", "Left", show=False),
        Binding("right", "move(1, 0)", "Right", show=False),
        Binding("d", "digit", "Next digit", tooltip="the next validation digit, at the same shift"),
    ]

    def __init__(self, context: LessonContext, run_ids: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.runs_dir, self.data_dir = context.runs_dir, context.data_dir
        self.show_volatile = context.show_volatile
        self.run_ids = run_ids
        self.probe: Probe | None = None
        self.look: Look | None = None
        self.cursor = (0, 0)  # (dx, dy)
        self.digit = 0
        self._models: list[Any] = []  # the two models and their datasets, only ever used in workers
        self._datasets: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Info(Text("finding the runs...", style="dim"), id="sh-head")
        yield ProgressBar(total=2 * (2 * MAX_K + 1) ** 2, show_eta=False, id="sh-progress")
        with Horizontal(id="sh-body"):
            with Vertical(id="sh-left"):
                yield CurveChart("val acc by distance (px)", "{:.0%}", id="sh-curves")
                yield Info(id="sh-digit")
            with Vertical(id="sh-right"):
                yield Info(id="sh-grid-0", classes="sh-grid")
                yield Info(id="sh-grid-1", classes="sh-grid")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Shifted digits"
        self.compute()

    # -- actions ---------------------------------------------------------------------

    def action_move(self, dx: int, dy: int) -> None:
        x, y = self.cursor
        self.cursor = (max(-MAX_K, min(MAX_K, x + dx)), max(-MAX_K, min(MAX_K, y + dy)))
        self._draw_grids()
        self._look()

    def action_digit(self) -> None:
        if self.probe is not None:
            self.digit = (self.digit + 1) % len(self.probe.labels)
            self._look()

    # -- the probe (in threads) ------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="probe")
    def compute(self) -> None:
        """In a thread: the two runs' models and data (torch), then every shift of their validation sets."""
        from ...lessons.shift import shift_accuracy
        from ...store.compare import load_model
        from ...store.runs import RunStore, StoreError
        from ...training.data import DataError, load

        try:
            store = RunStore.open(self.runs_dir)
            try:
                records = self._records(store)
                if isinstance(records, str):
                    self.app.call_from_thread(self.show_problem, records)
                    return
                models = [load_model(store, r) for r in records]
            finally:
                store.close()
            datasets = {name: load(name, self.data_dir, device="cpu") for name in {r.dataset for r in records}}
            self._models, self._datasets = models, [datasets[r.dataset] for r in records]
            self.app.call_from_thread(self.show_runs, records)
            results = []
            for k, (model, data) in enumerate(zip(self._models, self._datasets, strict=True)):
                step = partial(self._progressed, k)
                results.append(shift_accuracy(model, data, MAX_K, progress=step))
            data = self._datasets[0]
            plain = data.images("val", unshuffled=True).numpy()
            probe = Probe(records, (results[0], results[1]), data.classes, data.y_val.tolist(), plain)
        except (StoreError, DataError, ValueError) as exc:
            self.app.call_from_thread(self.show_problem, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            self.app.call_from_thread(self.show_problem, unexpected(self.app, exc, "probing the shifts"))
            return
        self.app.call_from_thread(self.show_probe, probe)

    def _records(self, store: RunStore) -> tuple[RunRecord, RunRecord] | str:
        """The two runs to probe, or why there are none."""
        from ...store.compare import shift_pair

        if self.run_ids is not None:
            a, b = (store.get(run_id) for run_id in self.run_ids)
            if a is None or b is None:
                return f"no run {self.run_ids[0 if a is None else 1]!r} in the store"
            pair = (a, b)
        else:
            picked = shift_pair(store.runs())
            if picked is None:
                return NEEDS_TWO
            pair = picked
        bases = [split_name(r.dataset)[0] for r in pair]
        if bases[0] != bases[1]:
            return f"the two runs learnt different datasets ({bases[0]}, {bases[1]}): pick two on one in the runs view"
        return pair

    def _progressed(self, run: int, done: int, total: int) -> None:
        """From the worker: run `run` has `done` of its `total` shifts behind it."""
        self.app.call_from_thread(self.show_progress, run * total + done)

    def show_progress(self, done: int) -> None:
        self.query_one(ProgressBar).update(progress=done)

    @work(thread=True, exit_on_error=False, exclusive=True, group="look")
    def _look(self) -> None:
        """In a thread: the digit under the cursor moved, through both models."""
        import torch

        from ...lessons.models import predict
        from ...lessons.shift import shift_images, shifted_digit

        probe, (dx, dy), index = self.probe, self.cursor, self.digit
        if probe is None:
            return
        try:
            pixels = shift_images(torch.from_numpy(probe.plain[index]), dx, dy).numpy()
            probs = [
                predict(m, shifted_digit(d, index, dx, dy)).numpy()
                for m, d in zip(self._models, self._datasets, strict=True)
            ]
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            self.app.call_from_thread(self.show_problem, unexpected(self.app, exc, "moving the digit"))
            return
        self.app.call_from_thread(self.show_look, Look(index, (dx, dy), pixels, (probs[0], probs[1])))

    # -- drawing ---------------------------------------------------------------------

    def show_problem(self, problem: str) -> None:
        self.query_one("#sh-head", Info).show(Text(problem, style="yellow"))
        self.query_one(ProgressBar).display = False

    def _title(self, k: int, record: RunRecord) -> Text:
        text = Text.assemble((f"{'AB'[k]} ", "bold"), (record.arch, f"bold {COLORS[k]}"))
        text.append(f"  {record.params:,} params  {record.dataset}", style="dim")
        if self.show_volatile:
            text.append(f"  run {record.run_id}", style="dim")
        return text

    def show_runs(self, records: tuple[RunRecord, RunRecord]) -> None:
        head = Text.assemble(self._title(0, records[0]), "\n", self._title(1, records[1]))
        head.append(f"\nmoving every validation digit by up to {MAX_K} pixels each way...", style="dim")
        self.query_one("#sh-head", Info).show(head)

    def show_probe(self, probe: Probe) -> None:
        self.probe = probe
        self.query_one(ProgressBar).display = False
        head = Text()
        for k, (record, results) in enumerate(zip(probe.records, probe.results, strict=True)):
            rings = by_distance(results)
            head.append_text(self._title(k, record))
            head.append(f"  in place {rings[0][1]:.1%}, 2 px away {rings[2][1]:.1%}\n")
        head.append("arrows: move the digit (dx right, dy down; the cursor on the grids)  d: next digit", style="dim")
        self.query_one("#sh-head", Info).show(head)
        rings = [by_distance(r) for r in probe.results]
        series = [
            Series([d for d, _ in ring], [acc for _, acc in ring], COLORS[k], probe.records[k].arch)
            for k, ring in enumerate(rings)
        ]
        self.query_one(CurveChart).plot(series, MAX_K, y_range([a for ring in rings for _, a in ring], 0.0, 1.0))
        self._draw_grids()
        self._look()

    def _draw_grids(self) -> None:
        probe = self.probe
        if probe is None:
            return
        for k, (record, results) in enumerate(zip(probe.records, probe.results, strict=True)):
            title = Text.assemble((f"{'AB'[k]} ", "bold"), (record.arch, f"bold {COLORS[k]}"))
            title.append("  val acc % by (dx, dy)", style="dim")
            self.query_one(f"#sh-grid-{k}", Info).show(Group(title, grid_text(accuracy_grid(results), self.cursor)))

    def show_look(self, look: Look) -> None:
        probe = self.probe
        if probe is None or (look.index, look.shift) != (self.digit, self.cursor):
            return  # the cursor moved on meanwhile: a newer look is coming
        self.look = look
        dx, dy = look.shift
        label = probe.labels[look.index]
        head = Text.assemble(("validation digit ", "dim"), (str(look.index), "bold"), (" label ", "dim"))
        head.append(probe.classes[label], style="bold green")
        head.append(f"  moved dx {dx:+d}, dy {dy:+d}", style="bold")
        answers = Text()
        for k, (record, probs) in enumerate(zip(probe.records, look.probs, strict=True)):
            best = int(probs.argmax())
            right = best == label
            answers.append(f"{'AB'[k]} ", style="bold")
            answers.append(record.arch, style=f"bold {COLORS[k]}")
            answers.append(f" says {probe.classes[best]} ({probs[best]:.0%}) ")
            answers.append("✓" if right else "✗", style="bold green" if right else "bold red")
            shuffled = split_name(record.dataset)[1]
            if shuffled is not None:
                answers.append(f"  (it sees the moved digit shuffled: perm{shuffled})", style="dim")
            if k == 0:
                answers.append("\n")
        picture = SegmentLines(digit.lines(digit.colours(look.pixels)))
        self.query_one("#sh-digit", Info).show(Group(head, picture, answers))
