"""Mistakes (e): a finished run's confusion matrix and its most confident wrong predictions.

The run is the one chosen on the runs screen, else the app's latest finished run, else
the newest finished run in the store. Scoring it needs its model and the validation
set, so the work happens in a thread worker; the screen says what it is doing meanwhile.
A run on shuffled pixels shows its mistakes shuffled, as it saw them; u puts each one
unshuffled beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..failures import unexpected
from ..widgets import digit, heatmap
from ..widgets.info import Info
from ..widgets.segments import SegmentLines

if TYPE_CHECKING:
    from ...lessons.mistakes import Mistake
    from ...store.runs import RunRecord
    from .context import LessonContext

WORST = 12  # confident mistakes shown
CELL = 5  # characters a confusion cell


@dataclass(frozen=True)
class Scored:
    """What the worker found: the run, its confusion counts and colours, and its worst mistakes as pictures."""

    record: RunRecord
    classes: tuple[str, ...]
    counts: np.ndarray  # [C, C] int, rows true
    heat: list[list[float]]  # lessons.confusion_heat
    mistakes: list[Mistake]
    digits: np.ndarray  # [n, H, W] uint8 pixels of the mistakes, as the network saw them
    plain: np.ndarray | None = None  # the same digits unshuffled, when the run's pixels were shuffled


def confusion_lines(scored: Scored) -> Text:
    """The matrix as coloured cells with their counts: true classes down, predicted across."""
    n = len(scored.classes)
    levels = heatmap.levels(np.asarray(scored.heat, dtype=np.float64), 1.0)
    text = Text("true ╲ predicted\n", style="dim")
    text.append("     " + "".join(f"{c[: CELL - 1]:>{CELL - 1}} " for c in scored.classes) + "\n", style="bold")
    for i in range(n):
        text.append(f"{scored.classes[i][:3]:>3} │", style="bold")
        for j in range(n):
            level = int(levels[i, j])
            dark = abs(level - heatmap.ZERO) > heatmap.ZERO * 0.55
            style = Style(bgcolor=heatmap.color(level), color="white" if dark else "black", bold=i == j)
            text.append(f"{int(scored.counts[i, j]):>{CELL - 1}} ", style)
        text.append("\n")
    return text


class DigitGrid(Static):
    """Each mistake as its 28x28 digit in half blocks, captioned true / predicted / confidence."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.scored: Scored | None = None
        self.pairs = False  # each shuffled mistake with its unshuffled digit beside it

    def show(self, scored: Scored, pairs: bool = False) -> None:
        self.scored, self.pairs = scored, pairs and scored.plain is not None
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        scored = self.scored
        if scored is None or not self.size.width:
            return
        if not scored.mistakes:
            self.update(Text("no mistakes on the validation set", style="green"))
            return
        _, h, w = scored.digits.shape
        pictures = [digit.colours(pixels) for pixels in scored.digits]
        if self.pairs and scored.plain is not None:
            pictures = [
                digit.side_by_side([p, digit.colours(q)], 1) for p, q in zip(pictures, scored.plain, strict=True)
            ]
            w = 2 * w + 1
        columns = max(1, self.size.width // (w + 1))
        gap = np.zeros((h, 1, 3), dtype=np.uint8)
        lines: list[list[Segment]] = []
        for start in range(0, len(scored.mistakes), columns):
            row = scored.mistakes[start : start + columns]
            # Grey ink on black, as the receptive-field view draws digits: a digit, not a weight map.
            inked = [part for picture in pictures[start : start + len(row)] for part in (picture, gap)]
            lines.extend(digit.lines(np.concatenate(inked, axis=1)))
            caption: list[Segment] = []
            for m in row:
                true, pred = scored.classes[m.true], scored.classes[m.pred]
                caption.append(
                    Segment(f"true {true} → {pred} {m.confidence:.0%}".center(w)[:w] + " ", Style(bold=True))
                )
            lines.append(caption)
        self.update(SegmentLines(lines))


class MistakesScreen(Screen):
    """Confusion matrix on the left, the surest wrong answers on the right (stacked on small terminals)."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("u", "unshuffle", "Unshuffled", tooltip="each shuffled mistake with its digit unshuffled beside it"),
    ]

    def __init__(self, context: LessonContext, run_id: str | None = None) -> None:
        super().__init__()
        self.runs_dir, self.data_dir = context.runs_dir, context.data_dir
        self.show_volatile = context.show_volatile
        self.run_id = run_id or context.latest_run_id
        self.scored: Scored | None = None
        self.unshuffled = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unshuffle":
            return self.scored is not None and self.scored.plain is not None
        return True

    def action_unshuffle(self) -> None:
        if self.scored is not None:
            self.unshuffled = not self.unshuffled
            self.query_one(DigitGrid).show(self.scored, self.unshuffled)

    def compose(self) -> ComposeResult:
        yield Info(Text("scoring the run on its validation set...", style="dim"), id="mis-head")
        with Horizontal(id="mis-body"):
            with Vertical(id="mis-confusion"):
                yield Static(id="mis-matrix")
            with VerticalScroll(id="mis-worst"):
                yield DigitGrid(id="mis-digits")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#mis-confusion").border_title = "Confusion"
        self.query_one("#mis-worst").border_title = f"The {WORST} surest mistakes"
        self.score()

    @work(thread=True, exit_on_error=False)
    def score(self) -> None:
        """In a thread: the run's model on its validation set (torch and the data load here)."""
        from ...lessons.mistakes import confusion, confusion_heat, worst
        from ...store.compare import load_model
        from ...store.runs import RunStore, StoreError
        from ...training.data import DataError, load

        try:
            store = RunStore.open(self.runs_dir)
            try:
                record = self._record(store)
                if isinstance(record, str):
                    self.app.call_from_thread(self.show_problem, record)
                    return
                model = load_model(store, record)
            finally:
                store.close()
            data = load(record.dataset, self.data_dir, device="cpu")
            counts = confusion(model, data)
            mistakes = worst(model, data, n=WORST)
            indices = [m.index for m in mistakes]
            digits = data.images("val")[indices].numpy()
            plain = data.images("val", unshuffled=True)[indices].numpy() if data.permutation is not None else None
        except (StoreError, DataError, ValueError) as exc:
            self.app.call_from_thread(self.show_problem, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            self.app.call_from_thread(self.show_problem, unexpected(self.app, exc, "scoring the run"))
            return
        scored = Scored(record, data.classes, counts.numpy(), confusion_heat(counts), mistakes, digits, plain)
        self.app.call_from_thread(self.show_scored, scored)

    def _record(self, store) -> RunRecord | str:
        """The run to score, or why there is none."""
        if self.run_id is not None:
            record = store.get(self.run_id)
            return record if record is not None else f"no run {self.run_id!r} in the store"
        record = next((r for r in store.runs() if r.status == "finished"), None)
        if record is None:
            return "no finished run yet: train one (t), or pick a run on the runs screen (r, then e)"
        return record

    def show_problem(self, problem: str) -> None:
        self.query_one("#mis-head", Info).show(Text(problem, style="yellow"))

    def show_scored(self, scored: Scored) -> None:
        self.scored = scored
        record = scored.record
        total, right = int(scored.counts.sum()), int(np.trace(scored.counts))
        head = Text.assemble((record.arch, "bold"), f"  {record.params:,} params  {record.dataset}  ")
        head.append(f"{right:,} of {total:,} validation digits right, {total - right:,} wrong", style="bold")
        if self.show_volatile:
            head.append(f"  run {record.run_id}", style="dim")
        head.append("\nblue: right (the row's share); red: mistakes (the most frequent reddest)", style="dim")
        if scored.plain is not None:
            head.append("\npixels shuffled: the digits as the network saw them", style="yellow")
            head.append("  u: each one unshuffled beside it", style="dim")
        self.query_one("#mis-head", Info).show(head)
        self.query_one("#mis-matrix", Static).update(confusion_lines(scored))
        self.query_one(DigitGrid).show(scored, self.unshuffled)
        self.refresh_bindings()
