"""Params vs accuracy, one mark a run or a group: log10 params across, validation accuracy up.

Placement is `compare.scatter`'s; this widget only draws it, with the axes, a group's
error bar (mean ± sd) through its mark, the highlighted row (the table's cursor) in
reverse and the marked ones in yellow.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from ...store.compare import Point, Scatter, scatter
from .segments import text_segments

GUTTER = 5  # "100%" and the axis
DIM, MARK, LABEL = Style(dim=True), Style(bold=True, color="cyan"), Style(color="cyan")
CURRENT, MARKED = Style(bold=True, reverse=True), Style(bold=True, color="yellow")


class ScatterPlot(Widget):
    """Runs and groups as `Point`s; `current` and `marked` are indices into them."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.points: Sequence[Point] = ()
        self.current: int | None = None
        self.marked: frozenset[int] = frozenset()
        self.plot: Scatter | None = None
        self._lines: list[Strip] | None = None

    def show(self, points: Sequence[Point], current: int | None, marked: frozenset[int]) -> None:
        self.points, self.current, self.marked = points, current, marked
        self._lines = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = None

    def _draw(self, width: int, height: int) -> list[Strip]:
        title = Text("val acc vs params (log scale)", style="bold")
        title.append("  marks are the # of the runs above", style="dim")
        if any(p.low is not None for p in self.points):
            title.append("; a group: its mean, a bar ± sd", style="dim")
        lines = [Strip(text_segments(title, self.app.console))]
        plot_w, plot_h = max(2, width - GUTTER - 1), max(2, height - 3)
        if not any(p.acc is not None for p in self.points):
            lines.append(Strip([Segment("no run with an accuracy yet: train one (t on the main screen)", DIM)]))
            return lines
        self.plot = plot = scatter(self.points, plot_w, plot_h)
        cells: list[list[tuple[str, Style | None]]] = [[(" ", None)] * plot_w for _ in range(plot_h)]
        for mark in plot.marks:
            if mark.bar is not None:
                top, bottom = mark.bar
                for row in range(top, bottom + 1):
                    cells[row][mark.col] = ("┬" if row == top else "┴" if row == bottom else "│", LABEL)
        # A mark stands for every point on its cell: highlighted or marked if any of them is.
        current = {(m.row, m.col) for m in plot.marks if m.index == self.current}
        marked = {(m.row, m.col) for m in plot.marks if m.index in self.marked}
        for mark in plot.marks:
            if not mark.shown:
                continue
            cell = (mark.row, mark.col)
            style = CURRENT if cell in current else MARKED if cell in marked else MARK
            if mark.label_col is not None:
                label_style = MARKED if cell in marked else LABEL
                for k, ch in enumerate(mark.label):
                    cells[mark.row][mark.label_col + k] = (ch, label_style)
            cells[mark.row][mark.col] = (mark.key, style)
        y_labels = dict(plot.y_ticks)
        for row in range(plot_h):
            segments = [Segment(y_labels.get(row, "")[: GUTTER - 1].rjust(GUTTER - 1) + "│", DIM)]
            segments.extend(Segment(ch, style) for ch, style in cells[row])
            lines.append(Strip(Segment.simplify(segments)))
        axis = ["─"] * plot_w
        ticks = [" "] * (plot_w + 8)
        for col, label in plot.x_ticks:
            axis[col] = "┬"
            start = max(0, min(col - len(label) // 2, plot_w - len(label)))
            ticks[start : start + len(label)] = label
        lines.append(Strip([Segment(" " * (GUTTER - 1) + "└" + "".join(axis), DIM)]))
        lines.append(Strip([Segment(" " * GUTTER + "".join(ticks[:plot_w]) + " params", DIM)]))
        return lines

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._lines is None:
            self._lines = self._draw(width, height)
        line = self._lines[y] if y < len(self._lines) else Strip([])
        return line.crop(0, width).extend_cell_length(width).apply_style(self.rich_style)
