"""The Kernels pane: one weight layer at a time as a grid of small heatmaps.

A conv layer is drawn as its out x in kernels; a local layer as the out x in kernels at
one output position (, and . or shift+arrows pick it), or as their spread across positions
(s, `lessons.positions`); a linear layer fed by an image (the MLP's first layer) as one
CxHxW map per unit; any other linear layer as its weight matrix. The selected kernel is
shown large beside the grid, with its numbers on demand. Weight snapshots arrive as numpy
arrays from the training thread; the pane keeps the latest and redraws at most twice a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...architecture.budget import Budget, budget_of
from ...architecture.spec import Spec
from ...lessons.positions import kernels_at, position_spread
from ..actions import KERNELS, bindings
from ..messages import WeightSnapshot
from ..pacing import Pacer
from ..widgets import heatmap
from ..widgets.heatmap import Picture
from ..widgets.info import Info
from ..widgets.segments import SegmentLines, text_segments
from .focus import RestyleAloneOnFocus

REDRAW_S = 0.5
SMALL_TILE = 7  # kernels up to 7x7 also get an enlarged view and their numbers (v) beside the grid
MAX_TILES = 1024  # more maps than this are cut (a note says so): the grid would not fit anyway
_PASS_THROUGH = ("relu", "gelu", "tanh", "sigmoid", "dropout")


@dataclass(frozen=True)
class WeightLayer:
    """A layer with weights worth drawing, and how its weight tensor maps to pictures."""

    index: int
    line: str
    kind: str  # "conv", "local", "image" (linear fed by an image) or "matrix" (other linear)
    out: int
    channels: int  # in channels of a conv or local layer, channels of the image; 1 for a matrix
    height: int
    width: int
    positions: tuple[int, int] = (1, 1)  # a local layer's output positions (H_out, W_out): a kernel set each

    @property
    def tiles(self) -> int:
        return 1 if self.kind == "matrix" else self.out * self.channels

    def caption(self) -> str:
        if self.kind == "conv":
            return f"{self.out}x{self.channels} kernels {self.height}x{self.width} (out x in)"
        if self.kind == "local":
            h, w = self.positions
            return f"{self.out}x{self.channels} kernels {self.height}x{self.width} at {h}x{w} positions"
        if self.kind == "image":
            per = f"{self.channels}x{self.height}x{self.width}"
            return f"{self.out} units, each a {per} map" + (" per channel" if self.channels > 1 else "")
        return f"{self.height}x{self.width} weight matrix (out x in)"

    def tile_label(self, t: int) -> str:
        if self.kind == "matrix":
            return "whole matrix"
        o, c = divmod(t, self.channels)
        name = "unit" if self.kind == "image" else "out"
        return f"{name} {o}, in {c}" if self.channels > 1 else f"{name} {o}"

    def maps(self, weights: np.ndarray, position: int = 0, spread: bool = False) -> np.ndarray:
        """The weight tensor as (tiles, h, w) pictures, cut to MAX_TILES.

        A local layer's are its kernels at `position`, or with `spread` each kernel's spread map.
        """
        if self.kind == "matrix":
            return weights.reshape(1, self.height, self.width)
        if self.kind == "local":
            if spread:
                return position_spread(weights, self.positions, self.out, self.channels)[:MAX_TILES]
            return kernels_at(weights, position, self.out, self.channels, self.height)[:MAX_TILES]
        maps = weights.reshape(self.out * self.channels, self.height, self.width)
        return maps[:MAX_TILES]


def weight_layers(spec: Spec, budget: Budget) -> list[WeightLayer]:
    """The conv and linear layers of a spec, with the picture shape of each (from the budget's shapes)."""
    found = []
    for i, (layer, row) in enumerate(zip(spec.layers, budget.rows, strict=False)):
        if row.error or row.in_shape is None or row.out_shape is None:
            break
        if layer.kind == "conv":
            assert layer.out is not None and layer.kernel is not None
            found.append(WeightLayer(i, row.spec, "conv", layer.out, row.in_shape[0], layer.kernel, layer.kernel))
        elif layer.kind == "local":
            assert layer.out is not None and layer.kernel is not None
            k, positions = layer.kernel, (row.out_shape[1], row.out_shape[2])
            found.append(WeightLayer(i, row.spec, "local", layer.out, row.in_shape[0], k, k, positions))
        elif layer.kind == "linear":
            assert layer.out is not None
            image = _image_before(budget, i)
            if image is not None:
                found.append(WeightLayer(i, row.spec, "image", layer.out, *image))
            else:
                found.append(WeightLayer(i, row.spec, "matrix", layer.out, 1, layer.out, row.in_shape[0]))
    return found


def _image_before(budget: Budget, index: int) -> tuple[int, int, int] | None:
    """The CxHxW image a linear layer's features were flattened from, if any."""
    for row in reversed(budget.rows[:index]):
        if row.kind == "flatten":
            shape = row.in_shape
            return (shape[0], shape[1], shape[2]) if shape is not None and len(shape) == 3 else None
        if row.kind not in _PASS_THROUGH:
            return None
    return None


def show_sized(widget: Info, content: RenderableType, lines: int) -> None:
    """Show `lines` lines in a widget of that fixed height, so new weights repaint without a layout.

    An auto-height widget lays the whole screen out on every update: 8 of the 10 ms that
    drawing a 16x16 grid of kernels cost here, twice a second while a model trains. The
    height, and so the layout, changes only when the number of lines does.
    """
    widget.styles.height = lines
    widget.show(content)


class KernelGrid(ScrollView, can_focus=False):
    """A picture larger than the pane, scrolled to keep the selection in view; lines built on demand."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.picture: Picture | None = None
        self._strips: dict[int, Strip] = {}
        self.empty = Text("")

    def show(self, picture: Picture | None, empty: Text | None = None) -> None:
        self.picture = picture
        self.empty = empty or Text("")
        self._strips.clear()
        self.virtual_size = Size(picture.width, picture.height) if picture else self.size
        self.refresh()

    def on_resize(self) -> None:
        self._strips.clear()

    def _message_line(self, y: int, width: int) -> Strip:
        """Line `y` of the wrapped message shown instead of a picture (wrapped once per width)."""
        if not self._strips:
            lines = self.empty.wrap(self.app.console, max(1, width))
            self._strips = {i: Strip(text_segments(line, self.app.console)) for i, line in enumerate(lines)}
        return self._strips.get(y, Strip([])).extend_cell_length(width).apply_style(self.rich_style)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.picture is None:
            return self._message_line(y, width)
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        if row >= self.picture.height:
            return Strip.blank(width, self.rich_style)
        strip = self._strips.get(row)
        if strip is None:
            strip = self._strips[row] = Strip(self.picture.line(row), self.picture.width)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width).apply_style(self.rich_style)


class KernelsPane(RestyleAloneOnFocus, Vertical, can_focus=True):
    """The selected layer's kernels as heatmaps: [ ] change layer, arrows select, v values, n scale."""

    BINDINGS = bindings(KERNELS)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec: Spec | None = None
        self.choices: list[WeightLayer] = []
        self.current = 0
        self.selected = 0
        self.per_kernel = False
        self.show_values = False
        self.position = 0  # a local layer's output position, row-major
        self.spread = False  # a local layer drawn as its kernels' spread across positions
        self.snapshot: WeightSnapshot | None = None
        self.problem = ""
        self._dirty = False
        self._pacer = Pacer()  # the live redraws, slowed while the UI costs more than its share
        self._columns = 1

    def compose(self) -> ComposeResult:
        yield Info(id="kern-head")
        with Horizontal(id="kern-body"):
            yield KernelGrid(id="kern-grid")
            with Vertical(id="kern-side"):
                yield Info(id="kern-big")
                yield Info(id="kern-info")

    def on_mount(self) -> None:
        self.border_title = "Kernels"
        self.set_interval(REDRAW_S, self._redraw_if_dirty)

    @property
    def chosen(self) -> WeightLayer | None:
        return self.choices[self.current] if self.choices else None

    def show_spec(self, spec: Spec, budget: Budget, keep_weights: bool) -> None:
        """Follow the editor; weights of another architecture are dropped unless their run is going."""
        dropped = self.snapshot is not None and self.snapshot.spec != spec
        if dropped and keep_weights:
            return
        if dropped:
            self.snapshot = None
        before = self.choices
        self._set_spec(spec, budget)
        if dropped or self.choices != before:  # most edits leave the weight layers as they were
            self.redraw()

    def _set_spec(self, spec: Spec, budget: Budget) -> None:
        was_local = self.chosen is not None and self.chosen.kind == "local"
        previous = self.chosen.index if self.chosen else None
        self.spec = spec
        self.choices = weight_layers(spec, budget)
        indices = [w.index for w in self.choices]
        self.current = indices.index(previous) if previous in indices else 0
        self.selected = min(self.selected, max(0, (self.chosen.tiles if self.chosen else 1) - 1))
        h, w = self.chosen.positions if self.chosen else (1, 1)
        self.position = min(self.position, h * w - 1)
        if self.is_mounted and was_local != (self.chosen is not None and self.chosen.kind == "local"):
            self.screen.refresh_bindings()  # the position and spread keys come or go

    def show_weights(self, snapshot: WeightSnapshot) -> None:
        """Keep the latest snapshot; draw it on the next tick (now if it is the final one)."""
        if self.spec != snapshot.spec:
            self._set_spec(snapshot.spec, budget_of(snapshot.spec))
        self.snapshot = snapshot
        if snapshot.final:
            self.redraw()
        else:
            self._dirty = True

    def show_initial(self, snapshot: WeightSnapshot) -> None:
        """The spec's weights at initialisation, unless the pane follows another spec or shows a run's weights."""
        if snapshot.spec != self.spec or (self.snapshot is not None and self.snapshot.initial_seed is None):
            return
        self.problem = ""
        self.snapshot = snapshot
        self.redraw()

    def show_problem(self, problem: str) -> None:
        """Why no initial weights could be drawn, in place of them."""
        self.problem = problem
        self.redraw()

    def _redraw_if_dirty(self) -> None:
        if self._dirty and self._pacer.due():
            self.redraw()

    # -- actions ------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The position and spread keys only on a local layer (so the footer shows them only there)."""
        if action in ("position", "spread"):
            return self.chosen is not None and self.chosen.kind == "local"
        return True

    def action_layer(self, step: int) -> None:
        if self.choices:
            self.current = (self.current + step) % len(self.choices)
            self.selected = 0
            self.redraw()
            self.screen.refresh_bindings()

    def action_position(self, dx: int, dy: int) -> None:
        """Step a local layer's position: , . and shift+←/→ in reading order (wrapping), shift+↑/↓ a row."""
        layer = self.chosen
        if layer is None or layer.kind != "local":
            return
        h, w = layer.positions
        if dy:
            y = min(h - 1, max(0, self.position // w + dy))
            self.position = y * w + self.position % w
        else:
            self.position = (self.position + dx) % (h * w)
        self.spread = False
        self.redraw()

    def action_spread(self) -> None:
        if self.chosen is not None and self.chosen.kind == "local":
            self.spread = not self.spread
            self.redraw()

    def action_select(self, dx: int, dy: int) -> None:
        layer = self.chosen
        if layer is None:
            return
        n = min(layer.tiles, MAX_TILES)
        cols = self._columns
        row, col = divmod(self.selected, cols)
        col = max(0, min(cols - 1, col + dx))
        row = max(0, row + dy)
        target = row * cols + col
        if target < n:
            self.selected = target
            self.redraw()

    def action_values(self) -> None:
        self.show_values = not self.show_values
        self.redraw()

    def action_scale(self) -> None:
        self.per_kernel = not self.per_kernel
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    # -- drawing -----------------------------------------------------------------

    def _arrays(self) -> np.ndarray | None:
        layer, snap = self.chosen, self.snapshot
        if layer is None or snap is None or layer.index not in snap.arrays:
            return None
        return layer.maps(np.asarray(snap.arrays[layer.index], dtype=np.float32), self.position, self.spread)

    def redraw(self) -> None:
        self._dirty = False
        if not self.is_mounted:
            return
        layer = self.chosen
        head = self.query_one("#kern-head", Info)
        grid = self.query_one(KernelGrid)
        big = self.query_one("#kern-big", Info)
        info = self.query_one("#kern-info", Info)
        if layer is None:
            head.show(Text("no conv or linear layer to show", style="dim"))
            grid.show(None)
            big.show("")
            info.show("")
            return
        title = Text.assemble(
            (f"layer {layer.index} ", "dim"),
            (layer.line, "bold"),
            ("  ", ""),
            (layer.caption(), ""),
            (f"  [{self.current + 1}/{len(self.choices)}]", "dim"),
        )
        maps = self._arrays()
        if maps is None:
            show_sized(head, title, 4 if layer.kind == "local" else 3)
            waiting = ("drawing the initial weights…", "dim") if not self.problem else (self.problem, "yellow")
            grid.show(None, Text(*waiting))
            big.show("")
            info.show("")
            return
        self.selected = min(self.selected, len(maps) - 1)
        scale = heatmap.max_abs(maps, axes=(1, 2), keepdims=True) if self.per_kernel else heatmap.max_abs(maps)
        lv = heatmap.levels(maps, scale)
        _, h, w = maps.shape
        enlarged = w <= SMALL_TILE and layer.kind != "matrix"  # big maps are drawn full size in the grid
        side = self.query_one("#kern-side")
        side.display = enlarged
        if layer.kind == "matrix":
            self._columns = 1
        elif layer.channels > 1:
            self._columns = layer.channels
        else:
            room = self.content_region.width - (side.styles.width.value if enlarged else 0) - 1
            self._columns = max(1, (int(room) - 1) // (w + 1))
        picture = Picture(heatmap.tile(lv, self.selected if layer.kind != "matrix" else None, self._columns))
        grid.show(picture)
        self._scroll_to_selected(grid, h, w)
        kernel = maps[self.selected]
        kernel_scale = float(scale.reshape(-1)[self.selected]) if self.per_kernel else float(scale)
        title.append("\n")
        title.append_text(heatmap.legend(kernel_scale, 21))
        title.append("  per kernel" if self.per_kernel else "  per layer", style="dim")
        if layer.tiles > len(maps):
            title.append(f"  first {len(maps)} of {layer.tiles}", style="yellow")
        if layer.kind == "local":
            title.append_text(self._where(layer))
        about = self._about(layer, kernel, "\n" if enlarged else "  ")
        if enlarged:
            self._draw_big(big, kernel, kernel_scale)
            show_sized(info, about, len(about.wrap(self.app.console, max(1, side.content_region.width))))
        else:
            title.append("\n")
            title.append_text(about)
        show_sized(head, title, 4 if layer.kind == "local" else 3)  # a local layer's position: one more line

    def _scroll_to_selected(self, grid: KernelGrid, h: int, w: int) -> None:
        row, col = divmod(self.selected, self._columns)
        region = Region(col * (w + 1), (row * (h + 1)) // 2, w + 2, (h + 3) // 2)
        grid.scroll_to_region(region, animate=False, force=True)

    def _where(self, layer: WeightLayer) -> Text:
        """A local layer's line: the position shown, or what the spread maps are."""
        if self.spread:
            return Text.assemble(("\nspread: ", "bold"), ("RMS from each kernel's mean over positions", "dim"))
        h, w = layer.positions
        y, x = divmod(self.position, w)
        return Text.assemble(
            ("\nposition ", "dim"), (f"({y}, {x})", "bold"), (f" of {h}x{w}  , . move  s spread", "dim")
        )

    def _about(self, layer: WeightLayer, kernel: np.ndarray, sep: str) -> Text:
        """Which kernel is selected, its range, its statistics on demand, and how fresh the weights are."""
        text = Text(layer.tile_label(self.selected), style="bold")
        if layer.kind == "local":
            y, x = divmod(self.position, layer.positions[1])
            text.append(" spread" if self.spread else f" at ({y}, {x})", style="bold")
        text.append(f"{sep}min {kernel.min():+.3f}  max {kernel.max():+.3f}", style="dim")
        if self.show_values and kernel.size > SMALL_TILE * SMALL_TILE:
            text.append(f"{sep}mean {kernel.mean():+.3f}  std {kernel.std():.3f}", style="dim")
        snap = self.snapshot
        if snap is not None:
            if snap.initial_seed is not None:
                fresh = f"initial weights, seed {snap.initial_seed}"
            else:
                fresh = "trained weights" if snap.final else f"epoch {snap.epoch} step {snap.step}"
            text.append(f"{sep}{fresh}", style="dim")
        return text

    def _draw_big(self, big: Info, kernel: np.ndarray, scale: float) -> None:
        """The selected kernel enlarged to fill the side, or its numbers on their colours (v)."""
        side = self.query_one("#kern-side")
        avail_w, avail_h = max(4, side.content_region.width), max(4, side.content_region.height - 4)
        h, w = kernel.shape
        if self.show_values and w * 6 <= avail_w:
            cells = heatmap.value_cells(kernel, scale)
            show_sized(big, Text("\n").join(cells), len(cells))
            return
        factor = max(1, min(avail_w // w, (avail_h * 2) // h))
        lines = Picture(heatmap.upscale(heatmap.levels(kernel, scale), factor)).lines()
        show_sized(big, SegmentLines(lines), len(lines))
