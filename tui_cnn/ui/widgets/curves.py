"""A titled braille line chart widget: train and val curves of one metric."""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.strip import Strip
from textual.widget import Widget

from .chart import Series, chart
from .segments import text_segments


class CurveChart(Widget):
    """Draws its series on demand; `plot` only stores them, so updates can be throttled."""

    def __init__(self, title: str, label: str = "{:.2f}", **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.label = label
        self.series: Sequence[Series] = ()
        self.x_max = 1.0
        self.y_range = (0.0, 1.0)
        self._lines: list[Strip] | None = None

    def plot(self, series: Sequence[Series], x_max: float, y_range: tuple[float, float]) -> None:
        self.series, self.x_max, self.y_range = series, x_max, y_range
        self._lines = None
        self.refresh()

    def on_resize(self) -> None:
        self._lines = None

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._lines is None:
            head = Text(self.title, style="bold")
            for s in self.series:
                head.append(f"  ━ {s.name}", Style(color=s.color))
            body = chart(self.series, width, max(1, height - 1), self.x_max, self.y_range, self.label)
            self._lines = [Strip(text_segments(head, self.app.console)).crop(0, width)] + [Strip(line) for line in body]
        line = self._lines[y] if y < len(self._lines) else Strip([])
        return line.extend_cell_length(width).apply_style(self.rich_style)
