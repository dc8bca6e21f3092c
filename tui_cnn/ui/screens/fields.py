"""Receptive fields (f): how much of the digit one unit of each layer sees.

The table gives every layer's receptive field, jump (input pixels between neighbouring
units), start and coverage; [ ] pick a layer, the arrows a unit in its output grid,
and the box that unit sees is lit over a validation digit (d shows the next one). The
digits are loaded in a thread worker: `tui_cnn.training.data.load` imports torch.
On shuffled pixels (`mnist-5k/perm1`) the digit is the shuffled one the network sees,
and u puts the digit unshuffled beside it with the same pixels lit: the unit's tidy box
is a scatter over the digit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ...architecture.budget import budget_of
from ...architecture.spec import format_shape
from ...lessons.fields import RFRow, input_region, receptive_fields, region_origins
from ...training.transforms import split_name
from ..failures import unexpected
from ..widgets import digit
from ..widgets.info import Info
from ..widgets.segments import SegmentLines

if TYPE_CHECKING:
    from .context import LessonContext


class RFScreen(Screen):
    """Receptive fields layer by layer, and one unit's field lit over a digit; escape goes back."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("left_square_bracket", "layer(-1)", "Prev layer", key_display="[", tooltip="previous layer"),
        Binding("right_square_bracket", "layer(1)", "Next layer", key_display="]", tooltip="next layer"),
        Binding("up", "unit(-1, 0)", "Unit ↑", show=False),
        Binding("down", "unit(1, 0)", "Unit ↓", show=False),
        Binding("left", "unit(0, -1)", "Unit ←", show=False),
        Binding("right", "unit(0, 1)", "Unit →", show=False),
        Binding("d", "digit", "Next digit", tooltip="the next validation digit"),
        Binding("u", "unshuffle", "Unshuffled", tooltip="the digit unshuffled beside it, the same pixels lit"),
    ]

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.spec = context.spec
        self.dataset, self.data_dir = context.dataset, context.data_dir
        self.budget = budget_of(self.spec)
        self.fields: list[RFRow] = receptive_fields(self.spec)
        self.current = 0  # position in self.fields
        self.unit = (0, 0)
        self.images: np.ndarray | None = None  # uint8 [N, H, W], the validation digits as the network sees them
        self.plain: np.ndarray | None = None  # the same digits unshuffled
        self.shuffled_by = split_name(self.dataset)[1]  # the permutation's seed, None for plain pixels
        self.permutation: list[int] = []  # pixel i of a shuffled digit is pixel permutation[i] of the plain one
        self.unshuffled = False  # u: the unshuffled digit beside the shuffled one
        self.labels: list[str] = []
        self.digit = 0
        self.problem = "loading digits…"

    def compose(self) -> ComposeResult:
        with Horizontal(id="rf-body"):
            with Vertical(id="rf-left"):
                yield Info(id="rf-table")
                yield Info(id="rf-about")
            yield Info(id="rf-digit")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Receptive fields"
        self._centre()
        self.run_worker(self._load, thread=True, group="digits", exit_on_error=False)
        self._draw()

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)  # the digit's scale follows the room it has

    # -- state -----------------------------------------------------------------------

    @property
    def field(self) -> RFRow | None:
        return self.fields[self.current] if self.fields else None

    def grid(self) -> tuple[int, int]:
        """The selected layer's units as (rows, columns): its output's height and width, 1x1 when flat."""
        field = self.field
        shape = self.budget.rows[field.index].out_shape if field is not None else None
        if field is None or field.whole or shape is None or len(shape) != 3:
            return 1, 1
        return shape[1], shape[2]

    def seen_box(self) -> tuple[int, int, int, int] | None:
        """The input box the selected unit sees (y0, x0, y1, x1)."""
        field = self.field
        if field is None:
            return None
        _, h, w = self.budget.input_shape
        return input_region(self.fields, field.index, *self.unit, (h, w))

    def unshuffled_lit(self) -> np.ndarray | None:
        """Where the pixels the selected unit sees sit in the unshuffled digit (bool [H, W]); None on plain pixels."""
        box = self.seen_box()
        if not self.permutation or box is None:
            return None
        _, h, w = self.budget.input_shape
        lit = np.zeros((h, w), dtype=bool)
        for y, x in region_origins(box, w, self.permutation):
            lit[y, x] = True
        return lit

    def _centre(self) -> None:
        h, w = self.grid()
        self.unit = (h // 2, w // 2)

    # -- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.shuffled_by is not None if action == "unshuffle" else True

    def action_close(self) -> None:
        self.dismiss()

    def action_unshuffle(self) -> None:
        self.unshuffled = not self.unshuffled
        self._draw()

    def action_layer(self, step: int) -> None:
        if self.fields:
            self.current = (self.current + step) % len(self.fields)
            self._centre()
            self._draw()

    def action_unit(self, dy: int, dx: int) -> None:
        h, w = self.grid()
        y, x = self.unit
        self.unit = (max(0, min(h - 1, y + dy)), max(0, min(w - 1, x + dx)))
        self._draw()

    def action_digit(self) -> None:
        if self.images is not None and len(self.images):
            self.digit = (self.digit + 1) % len(self.images)
            self._draw()

    # -- the digits (in a thread) ----------------------------------------------------

    def _load(self) -> None:
        from ...training.data import DataError, load

        try:
            data = load(self.dataset, self.data_dir)
            images, labels = data.images("val").numpy(), [data.classes[i] for i in data.y_val.tolist()]
            plain = data.images("val", unshuffled=True).numpy()
            permutation = data.permutation.tolist() if data.permutation is not None else []
            self.app.call_from_thread(self._loaded, (images, plain, permutation), labels, "")
        except DataError as exc:
            self.app.call_from_thread(self._loaded, None, [], f"no digits to draw ({exc}); the box is drawn alone")
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            problem = f"{unexpected(self.app, exc, 'loading the digits')}; the box is drawn alone"
            self.app.call_from_thread(self._loaded, None, [], problem)

    def _loaded(self, digits: tuple[np.ndarray, np.ndarray, list[int]] | None, labels: list[str], problem: str) -> None:
        """`digits`: as the network sees them, unshuffled, and the permutation ([] for plain pixels)."""
        if digits is not None:
            self.images, self.plain, self.permutation = digits
        self.labels, self.problem = labels, problem
        self._draw()

    # -- drawing ---------------------------------------------------------------------

    def _draw(self) -> None:
        self.query_one("#rf-table", Info).show(self._table())
        self.query_one("#rf-about", Info).show(self._about())
        self.query_one("#rf-digit", Info).show(self._picture())

    def _table(self) -> Table:
        table = Table(
            "#", "layer", "units", "field", "jump", "start", "covers", box=None, padding=(0, 1), pad_edge=False
        )
        table.columns[1].no_wrap = True
        for col in range(2, 7):
            table.columns[col].justify = "right"
        for i, r in enumerate(self.fields):
            shape = self.budget.rows[r.index].out_shape or ()
            units = format_shape(shape[1:]) if len(shape) == 3 else str(shape[0]) if shape else ""
            style = "bold reverse" if i == self.current else ""
            table.add_row(
                str(r.index),
                r.spec,
                units,
                f"{r.rf}x{r.rf}",
                str(r.jump),
                f"{r.start:g}",
                f"{r.coverage:.1%}",
                style=style,
            )
        return table

    def _about(self) -> Text:
        field, box = self.field, self.seen_box()
        if field is None or box is None:
            return Text("no layer to show: the first layer does not fit the input", style="yellow")
        _, h, w = self.budget.input_shape
        y0, x0, y1, x1 = box
        text = Text.assemble((f"layer {field.index} ", "dim"), (field.spec, "bold"), "\n")
        if field.whole:
            text.append(f"every unit sees the whole {h}x{w} input", style="bold")
        else:
            gh, gw = self.grid()
            text.append(f"unit ({self.unit[0]}, {self.unit[1]}) of {gh}x{gw} sees rows {y0}-{y1 - 1}, ")
            text.append(f"columns {x0}-{x1 - 1} of the {h}x{w} input\n")
            text.append(f"a {field.rf}x{field.rf} field, units {field.jump} pixel", style="dim")
            text.append(
                f"{'s' if field.jump != 1 else ''} apart; the best placed sees {field.coverage:.1%}", style="dim"
            )
        if self.shuffled_by is not None:
            text.append(
                f"\n\npixels shuffled (perm{self.shuffled_by}): the digit as the network sees it", style="yellow"
            )
            if self.unshuffled:
                text.append(
                    "\nbeside it unshuffled: the pixels the unit sees are scattered over the digit", style="dim"
                )
        keys = "[ ] layer  arrows: unit  d: next digit" + ("  u: unshuffled" if self.shuffled_by is not None else "")
        text.append(f"\n\n{keys}", style="dim")
        return text

    def _picture(self) -> Group:
        box = self.seen_box()
        _, h, w = self.budget.input_shape
        pixels = self.images[self.digit] if self.images is not None else np.zeros((h, w), dtype=np.uint8)
        panel = self.query_one("#rf-digit", Info)
        room = (panel.content_region.width, panel.content_region.height - 2)  # under the caption
        seen, lit = digit.colours(pixels, box), self.unshuffled_lit()
        if self.unshuffled and self.plain is not None and lit is not None:
            pair = digit.side_by_side([seen, digit.colours(self.plain[self.digit], lit)])
            lines = digit.lines(pair, digit.fit(pixels.shape, ((room[0] - 2) // 2, room[1])))
        else:
            lines = digit.lines(seen, digit.fit(pixels.shape, room))
        caption = Text(self.problem, style="yellow") if self.problem else Text("")
        if self.labels:
            caption = Text.assemble(("validation digit ", "dim"), (str(self.digit), "bold"))
            caption.append(f"  label {self.labels[self.digit]}", style="dim")
        return Group(caption, Text(""), SegmentLines(lines))
