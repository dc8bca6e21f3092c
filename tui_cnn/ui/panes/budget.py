"""The Budget pane: the core's per-layer rows as a table, the total against a target.

Every number comes from `budget.rows`; this module only lays them out, so the pane
can be redrawn on every edit (a 30-layer spec is a 30-row table, well under a frame).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical

from ...architecture.budget import Budget, budget_of
from ...architecture.presets import PRESETS, preset
from ...architecture.spec import Spec, format_shape
from ..actions import BUDGET, bindings
from ..dialogs.modals import Prompt
from ..widgets.budget_table import BudgetTable
from ..widgets.info import Info
from .focus import RestyleAloneOnFocus

BLOCKS = " ▏▎▍▌▋▊▉█"
COLUMNS = (
    ("#", "right"),
    ("layer", "left"),
    ("output", "left"),
    ("params", "right"),
    ("mult-adds", "right"),
    ("dense eq.", "right"),
    ("share", "left"),
)


def bar(fraction: float, width: int, style: str = "", track: str = " ") -> Text:
    """A horizontal bar with eighth-cell resolution; fractions above 1 fill it."""
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    body = "█" * full + (BLOCKS[part] if part else "")
    text = Text(body, style=style)
    text.append(track * (width - len(body)), style="dim")
    return text


def target_params(text: str) -> int | str:
    """A target typed as a number (39760, 39,760, 40k) or a preset's name."""
    name = text.strip().lower()
    if name in PRESETS:
        return budget_of(preset(name)).total_params
    value = name.replace(",", "").replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(value[-1:], 1)
    number = value[:-1] if scale > 1 else value
    try:
        target = round(float(number) * scale)
    except ValueError:
        return f"type a number of parameters (e.g. 39,760 or 40k) or a preset ({', '.join(PRESETS)})"
    return target if target > 0 else "the target must be at least 1 parameter"


class BudgetPane(RestyleAloneOnFocus, Vertical):
    """Output shape, parameters, multiply-adds and dense equivalent of each layer, and the total."""

    BINDINGS = bindings(BUDGET)

    def __init__(self, target: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.budget: Budget | None = None

    def compose(self) -> ComposeResult:
        yield BudgetTable(COLUMNS, id="budget-table")
        yield Info(id="budget-total")

    def on_mount(self) -> None:
        self.border_title = "Budget"

    def show(self, spec: Spec, budget: Budget) -> None:
        """Redraw the table and the total for a new spec."""
        self.budget = budget
        total = budget.total_params or 1
        after_error = False
        table_rows: list[tuple[Text | str, ...]] = []
        for r in budget.rows:
            if r.error:
                after_error = True
                table_rows.append(
                    (Text(str(r.index), style="red"), Text(r.spec, style="bold red"), Text("✗ error", style="bold red"))
                )
            elif after_error or r.out_shape is None:
                table_rows.append((Text(str(r.index), style="dim"), Text(r.spec, style="dim"), Text("?", style="dim")))
            else:
                table_rows.append(
                    (
                        Text(str(r.index), style="dim"),
                        r.spec,
                        Text(format_shape(r.out_shape), style="cyan"),
                        f"{r.params:,}" if r.params else "",
                        f"{r.macs:,}" if r.macs else "",
                        f"{r.dense_equiv:,}" if r.dense_equiv is not None else "",
                        bar(r.params / total, 8, "green") if r.params else "",
                    )
                )
        self.query_one(BudgetTable).set_rows(table_rows)
        self._show_total()

    def follow(self, index: int) -> None:
        """Put the cursor on the row of the layer selected in the editor."""
        table = self.query_one(BudgetTable)
        if 0 <= index < table.row_count:
            table.cursor = index

    def _show_total(self) -> None:
        budget = self.budget
        if budget is None:
            return
        out = Text()
        if budget.error:
            e = budget.error
            out.append(f"✗ layer {e.index} ({e.spec}): {e.error}\n", style="bold red")
        out.append("total ", style="bold")
        out.append(f"{budget.total_params:,}", style="bold green" if budget.total_params <= self.target else "bold red")
        out.append(" params  ")
        out.append(f"{budget.total_macs:,}", style="bold")
        out.append(" mult-adds  dense equiv ")
        out.append(f"{budget.total_dense_equiv:,}", style="bold")
        ratio = budget.total_params / self.target
        out.append("\ntarget ", style="bold")
        out.append(f"{self.target:,} ")
        out.append_text(bar(ratio, 30, "green" if ratio <= 1 else "red", track="░"))
        out.append(f" {ratio:.0%}" if ratio <= 1 else f" {ratio:.1f}x over", style="bold")
        self.query_one("#budget-total", Info).show(out)

    def action_target(self) -> None:
        def chosen(target: int | None) -> None:
            if target is not None:
                self.target = target
                self._show_total()

        self.app.push_screen(
            Prompt(
                "Parameter target",
                f"{self.target:,}",
                target_params,
                hint="a number (39,760 or 40k) or a preset name (mlp)   enter: set   escape: cancel",
            ),
            chosen,
        )
