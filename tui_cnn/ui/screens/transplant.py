"""The transplant of one run (m on the runs view): the CNN as the MLP it is, checked on the validation set.

`lessons.transplant.report` does the work, as for `cnn-tui transplant`: it builds the MLP
whose Linear layers are the convs unrolled and compares both on the run's validation
split. That needs torch, the weights and the data, so it runs in a thread worker; a run
that cannot be transplanted (pooling, batch norm) gets its one-line reason instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from ...architecture.presets import resolve
from ...architecture.spec import ParseError
from ...store.compare import run_spec
from ..failures import unexpected
from ..widgets.info import Info

if TYPE_CHECKING:
    from ...lessons.transplant import Report
    from ...store.runs import RunRecord
    from .context import LessonContext


def pct(x: float) -> str:
    return f"{x:.1%}"


def transplant_lines(report: Report, arch: str, show_volatile: bool) -> Group:
    """Both networks' parameters and accuracies, and the largest difference between their outputs."""
    ratio = report.params_mlp / report.params_cnn if report.params_cnn else 0.0
    note = Text.assemble(
        (f"run {report.run_id}: " if show_volatile else "", "bold"),
        "the same function with ",
        (f"{ratio:,.1f}x", "bold"),
        " the parameters; largest output difference ",
        (f"{report.max_abs_diff:.2g}", "bold"),
        " over the validation set",
    )
    table = Table("", "architecture", "params", "val acc", box=box.SIMPLE_HEAD)
    for col in (2, 3):
        table.columns[col].justify = "right"
    table.add_row("CNN", arch, f"{report.params_cnn:,}", pct(report.val_acc_cnn))
    table.add_row("MLP", report.line, f"{report.params_mlp:,}", pct(report.val_acc_mlp))
    why = Text(
        "Each conv is the Linear of its unrolled matrix (bias repeated per position): tied, mostly-zero weights.\n"
        "l loads the MLP into the editor: trained from scratch, does an MLP of that size find the CNN's solution?",
        style="dim",
    )
    return Group(note, table, why)


class TransplantScreen(Screen):
    """One run transplanted into an MLP: both parameter counts, the outputs' largest difference, or why not."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "load", "Load MLP", tooltip="load the MLP's line into the editor, to train it from scratch"),
    ]

    def __init__(self, context: LessonContext, record: RunRecord) -> None:
        super().__init__()
        self.data_dir, self.runs_dir = context.data_dir, context.runs_dir
        self.show_volatile = context.show_volatile
        self.record = record
        self.report: Report | None = None
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Info(
            Text.assemble(("Transplant ", "bold"), (self.record.arch, "bold"), "\n", (self.record.line, "dim"), "\n")
        )
        yield Info(Text("unrolling the convs and checking the MLP on the validation set...", style="dim"), id="tp-body")
        yield Footer()

    def on_mount(self) -> None:
        self.transplant()

    @work(thread=True, exit_on_error=False)
    def transplant(self) -> None:
        """In a thread: the run's model, its MLP, and both on the validation split (torch and the data load here)."""
        from ...lessons.transplant import TransplantError, mlp_spec, report
        from ...store.compare import load_model
        from ...store.runs import RunStore, StoreError
        from ...training.data import DataError, load

        record = self.record
        try:
            spec = run_spec(record)
            if isinstance(spec, ParseError):
                raise TransplantError(f"an architecture this version cannot read: {spec}")
            mlp_spec(spec)  # refuse pooling or batch norm before loading weights and data
            store = RunStore.open(self.runs_dir)
            try:
                model = load_model(store, record)
            finally:
                store.close()
            result = report(record.run_id, spec, model, load(record.dataset, self.data_dir, device="cpu"))
        except (TransplantError, StoreError, DataError) as exc:
            self.app.call_from_thread(self.show_problem, f"cannot transplant this run: {exc}")
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            self.app.call_from_thread(self.show_problem, unexpected(self.app, exc, "transplanting the run"))
            return
        self.app.call_from_thread(self.show_report, result)

    def show_problem(self, problem: str) -> None:
        self.problem = problem
        self.query_one("#tp-body", Info).show(Text(problem, style="yellow"))

    def show_report(self, result: Report) -> None:
        self.report = result
        self.query_one("#tp-body", Info).show(transplant_lines(result, self.record.arch, self.show_volatile))

    def action_load(self) -> None:
        """The MLP back to the runs view, which hands it on to the editor (u undoes)."""
        if self.report is not None:
            spec = resolve(self.report.line)
            if isinstance(spec, ParseError):
                self.notify(f"cannot load the MLP: {spec}", severity="error", timeout=5)
                return
            self.dismiss(spec)
