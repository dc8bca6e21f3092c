"""A read-only table laid out once per change and then only scrolled: the budget's rows.

A `DataTable` re-renders its cells on every layout (about 15 ms for 30 rows here, and
an edit causes two layouts) and a rich `Table` spends ~50 ms measuring them; this
widget pads the cells to their column widths once when the rows change and keeps the
lines, about 1.5 ms for 30 rows. The header stays put while the body scrolls; one row
carries the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .segments import text_segments


class BudgetTable(ScrollView, can_focus=True):
    """Columns and rows of text cells, a fixed header and a row cursor."""

    COMPONENT_CLASSES = {"budget-table--cursor", "budget-table--header"}
    BINDINGS = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "move(-10)", "Page up", show=False),
        Binding("pagedown", "move(10)", "Page down", show=False),
        Binding("home", "move(-1000000)", "First", show=False),
        Binding("end", "move(1000000)", "Last", show=False),
    ]

    cursor = reactive(0, always_update=True)

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs) -> None:
        """columns: (title, justify) pairs."""
        super().__init__(**kwargs)
        self.columns = tuple(columns)
        self.rows: list[Sequence[Text | str]] = []
        self._header: Strip = Strip([])
        self._body: list[Strip] = []
        self._style = self._cursor_style = Style()

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: list[Sequence[Text | str]]) -> None:
        """New rows: laid out here, once, so painting only copies lines."""
        self.rows = rows
        self._render_table()
        self.cursor = max(0, min(self.cursor, len(rows) - 1))
        self.refresh()

    def _render_table(self) -> None:
        """Pad every cell to its column's width (a rich Table measures far more than this needs)."""
        cells = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in self.rows]
        header = [Text(title) for title, _ in self.columns]
        widths = [max([h.cell_len] + [row[i].cell_len for row in cells if i < len(row)]) for i, h in enumerate(header)]
        console = self.app.console

        def line(row: list[Text]) -> Strip:
            segments = [Segment(" ")]
            for i, (width, (_, justify)) in enumerate(zip(widths, self.columns, strict=True)):
                cell = row[i] if i < len(row) else Text("")
                pad = Segment(" " * (width - cell.cell_len))
                if justify == "right":
                    segments.append(pad)
                segments.extend(text_segments(cell, console))
                if justify != "right":
                    segments.append(pad)
                segments.append(Segment("  "))
            return Strip(segments).simplify()

        self._header = line(header).apply_style(self.get_component_rich_style("budget-table--header"))
        self._body = [line(row) for row in cells]
        self.virtual_size = Size(max((s.cell_length for s in self._body), default=0), len(self._body) + 1)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style = self.rich_style
        self._cursor_style = self.get_component_rich_style("budget-table--cursor")
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        index = y - 1 + scroll_y
        if y > 0 and index >= len(self._body):
            return Strip.blank(width, self._style)
        strip = (self._header if y == 0 else self._body[index]).crop(scroll_x, scroll_x + width)
        strip = strip.extend_cell_length(width)
        if y > 0 and index == self.cursor:  # across the whole width, not only the cells
            strip = strip.apply_style(self._cursor_style)
        return strip.apply_style(self._style)

    def watch_cursor(self, cursor: int) -> None:
        """Keep the cursor's row in view below the fixed header."""
        visible = max(1, self.size.height - 1)
        if cursor < self.scroll_y:
            self.scroll_to(y=cursor, animate=False, force=True)
        elif cursor >= self.scroll_y + visible:
            self.scroll_to(y=cursor - visible + 1, animate=False, force=True)
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_move(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))
