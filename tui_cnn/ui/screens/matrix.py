"""Conv as a matrix (m): a conv layer unrolled into the sparse matrix it multiplies by.

Rows are output units (channel, y, x), columns input pixels (channel, y, x); each cell
names the kernel weight it holds (a, b, c...) on that weight's colour, so shared
weights share a colour and the structural zeros stay dim dots. It opens on the seed's
own example, a 2x2 kernel over a 3x3 image (the 4x9 matrix); s switches to the
selected conv layer of the current architecture on a small input, [ ] pick the layer.
The cursor names its cell and lights every cell that holds the same weight.

The matrix is computed in a thread worker: its values need torch, which the app never
imports on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer

from ...architecture.spec import Spec, format_shape
from ...lessons.matrix import SEED_EXAMPLE, SEED_INPUT, ConvMatrix, layer_matrix, matrix_cell, seed_matrix, weight_mark
from ...lessons.models import model_from
from ..failures import unexpected
from ..widgets import heatmap
from ..widgets.info import Info
from .snapshots import weights_source

if TYPE_CHECKING:
    from .context import LessonContext

CELLS = (2, 5)  # terminal columns per matrix cell, fewest and most: small matrices are drawn wider
SEED_SIDE = format_shape(SEED_INPUT)
ZERO_STYLE = Style(color="#5a5a5a")
CURSOR_STYLE = Style(color="black", bgcolor="#ffd700", bold=True)


@dataclass(frozen=True)
class Shown:
    """A computed matrix, ready to draw: its palette levels and where its weights came from."""

    matrix: ConvMatrix
    kernel: int
    values: np.ndarray  # rows x cols, the weights as numbers (0 in the structural zeros)
    levels: np.ndarray  # the same as palette levels
    scale: float
    title: Text
    source: str


class MatrixGrid(ScrollView, can_focus=False):
    """The matrix, CELL columns a cell, one row a line; rows are built on demand and cached."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shown: Shown | None = None
        self.cursor = (0, 0)
        self.cell = CELLS[0]
        self._strips: dict[int, Strip] = {}

    def show(self, shown: Shown | None, cursor: tuple[int, int]) -> None:
        self.shown, self.cursor = shown, cursor
        self._strips.clear()
        if shown is None:
            self.virtual_size = Size(0, 0)
        else:
            rows, cols = shown.matrix.shape
            self.cell = max(CELLS[0], min(CELLS[1], (self.size.width - 1) // cols))
            self.virtual_size = Size(cols * self.cell, rows)
            row, col = cursor
            self.scroll_to_region(Region(col * self.cell, row, self.cell, 1), animate=False, force=True)
        self.refresh()

    def on_resize(self) -> None:
        self.show(self.shown, self.cursor)

    def _text(self, char: str) -> str:
        return f"{char:>{self.cell // 2 + 1}}".ljust(self.cell)

    def _row(self, row: int) -> Strip:
        shown = self.shown
        assert shown is not None
        cur_row, cur_col = self.cursor
        selected = shown.matrix.pattern[cur_row][cur_col]
        segments = []
        for col, index in enumerate(shown.matrix.pattern[row]):
            if (row, col) == (cur_row, cur_col):
                segments.append(Segment(self._text(weight_mark(index) if index else "·"), CURSOR_STYLE))
            elif not index:
                segments.append(Segment(self._text("·"), ZERO_STYLE))
            else:
                level = int(shown.levels[row, col])
                dark = abs(level - heatmap.ZERO) > heatmap.ZERO * 0.55
                style = Style(
                    color="white" if dark else "black",
                    bgcolor=heatmap.color(level),
                    bold=index == selected,
                    underline=index == selected,
                )
                segments.append(Segment(self._text(weight_mark(index)), style))
        return Strip(Segment.simplify(segments), len(shown.matrix.pattern[row]) * self.cell)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        if self.shown is None or row >= len(self.shown.matrix.pattern):
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = self._row(row)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width).apply_style(self.rich_style)


class MatrixScreen(Screen):
    """The unrolled matrix of the seed's example or of one conv layer; escape goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("s", "toggle", "Seed/layer", tooltip="the seed's 2x2-over-3x3 example, or the selected conv layer"),
        Binding("left_square_bracket", "layer(-1)", "Prev layer", key_display="[", tooltip="previous conv layer"),
        Binding("right_square_bracket", "layer(1)", "Next layer", key_display="]", tooltip="next conv layer"),
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
    ]

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.spec: Spec = context.spec
        self.snapshot = context.weights()
        self.convs = [i for i, layer in enumerate(self.spec.layers) if layer.kind == "conv"]
        self.seed_mode = True
        self.conv_at = 0  # position in self.convs
        self.cursor = (0, 0)
        self.shown: Shown | None = None
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Info(id="mx-head")
        yield MatrixGrid(id="mx-grid")
        yield Info(id="mx-cell")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Conv as a matrix"
        self._compute()

    # -- actions ---------------------------------------------------------------------

    def action_close(self) -> None:
        self.dismiss()

    def action_toggle(self) -> None:
        self.seed_mode = not self.seed_mode
        self._compute()

    def action_layer(self, step: int) -> None:
        if not self.convs:
            self.notify("the architecture has no conv layer", timeout=3)
            return
        if self.seed_mode:
            self.seed_mode = False
        else:
            self.conv_at = (self.conv_at + step) % len(self.convs)
        self._compute()

    def action_move(self, dy: int, dx: int) -> None:
        if self.shown is None:
            return
        rows, cols = self.shown.matrix.shape
        row, col = self.cursor
        self.cursor = (max(0, min(rows - 1, row + dy)), max(0, min(cols - 1, col + dx)))
        self._draw()

    # -- computing (in a thread) ------------------------------------------------------

    def _compute(self) -> None:
        index = self.convs[self.conv_at] if self.convs and not self.seed_mode else None
        self.run_worker(
            partial(self._matrix, self.seed_mode, index),
            thread=True,
            exclusive=True,
            group="matrix",
            exit_on_error=False,
        )

    def _matrix(self, seed_mode: bool, index: int | None) -> None:
        """Runs in a thread: the matrix and its colours, or why there is none, handed to the event loop."""
        try:
            shown = self._shown(seed_mode, index)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            shown = unexpected(self.app, exc, "unrolling the layer")
        self.app.call_from_thread(self._show, shown)

    def _shown(self, seed_mode: bool, index: int | None) -> Shown | str:
        if seed_mode:
            matrix, kernel, source = seed_matrix(), 2, "a fresh 2x2 kernel (seed 0): the weights do not matter here"
            title = Text.assemble(
                ("The seed's example  ", "bold"),
                (f"{SEED_EXAMPLE} on {SEED_SIDE}: a 2x2 kernel slides over a 3x3 image", ""),
            )
        elif index is None:
            return "the architecture has no conv layer: s shows the seed's example"
        else:
            snap = self.snapshot
            model = model_from(self.spec, snap.state_dict) if snap is not None else None
            result = layer_matrix(self.spec, index, model=model)
            if isinstance(result, str):
                return result
            layer = self.spec.layers[index]
            assert layer.kernel is not None
            matrix, kernel, source = result, layer.kernel, weights_source(snap, "a fresh layer (seed 0)")
            title = Text.assemble(
                (f"layer {index} ", "dim"),
                (layer.line(), "bold"),
                (f" on a small {format_shape(matrix.in_shape)} input", ""),
                (f"  [{self.conv_at + 1}/{len(self.convs)}]", "dim"),
            )
        assert matrix.values is not None
        values = matrix.values.numpy()
        scale = heatmap.max_abs(values)
        return Shown(matrix, kernel, values, heatmap.levels(values, scale), float(scale), title, source)

    def _show(self, shown: Shown | str) -> None:
        if isinstance(shown, str):
            self.shown, self.problem = None, shown
        else:
            self.shown, self.problem, self.cursor = shown, "", (0, 0)
        self._draw()

    # -- drawing ---------------------------------------------------------------------

    def _draw(self) -> None:
        head, cell = self.query_one("#mx-head", Info), self.query_one("#mx-cell", Info)
        grid = self.query_one(MatrixGrid)
        shown = self.shown
        if shown is None:
            head.show(Text(self.problem or "computing the matrix…", style="dim" if not self.problem else "yellow"))
            cell.show("")
            grid.show(None, (0, 0))
            return
        m = shown.matrix
        rows, cols = m.shape
        text = Text.assemble(shown.title, "\n")
        text.append(f"{rows}x{cols}", style="bold")
        text.append(f" matrix: rows = {format_shape(m.out_shape)} output units, columns = ", style="dim")
        text.append(f"{format_shape(m.in_shape)} input pixels\n", style="dim")
        for number, what in (
            (f"{m.cells:,}", " cells  "),
            (f"{m.nonzeros:,}", " non-zero  "),
            (f"{m.distinct:,}", " distinct weights  "),
            (f"{m.sharing:.1f}x", " sharing (connections per weight)"),
        ):
            text.append(number, style="bold cyan")
            text.append(what, style="dim")
        text.append("\n")
        text.append_text(heatmap.legend(shown.scale, 15))
        text.append(f"  {shown.source}", style="dim")
        head.show(text)
        grid.show(shown, self.cursor)
        cell.show(self._about_cell())

    def _about_cell(self) -> Text:
        """The cursor's cell in words: which unit, which pixel, which weight and how often it repeats."""
        shown = self.shown
        assert shown is not None
        row, col = self.cursor
        c = matrix_cell(shown.matrix, row, col, shown.kernel)
        o, oy, ox = c.out
        ci, iy, ix = c.inp
        text = Text.assemble(
            ("row ", "dim"),
            (str(row), "bold"),
            (f" = out channel {o} at ({oy}, {ox})   ", ""),
            ("column ", "dim"),
            (str(col), "bold"),
            (f" = in channel {ci} at ({iy}, {ix})\n", ""),
        )
        if c.weight is None:
            text.append("· a structural zero: this pixel is outside that unit's window", style="dim")
            return text
        wo, wi, i, j = c.weight
        text.append(f"{weight_mark(shown.matrix.pattern[row][col])}", style="bold")
        text.append(f" = weight[{wo}, {wi}, {i}, {j}] = {shown.values[row, col]:+.3f}, held by ")
        text.append(f"{c.uses} cells", style="bold")
        text.append(" (underlined): one parameter, many connections", style="dim")
        return text
