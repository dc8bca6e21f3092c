"""Runs (r): every run in the store, the params-vs-accuracy scatter, one run opened, two compared.

The store is SQLite and small, so listing it happens on the event loop; a run's
weights need torch and are read in a thread worker. `l` hands a run's architecture
back through `dismiss`; the main screen makes it the editor's (undoable with u). `r`
checks a run can go on (`experiments.run.continuation`, as `train --resume` does) and
hands back a `Continue` for the Training pane; `d` deletes the marked runs through the
store; `m` opens the run's transplant into an MLP. A group (a seed group, a sweep's or the
ladder's) is one row, folded as `store.groups` folds it, and one mark with an error bar on
the scatter; enter unfolds it, g all of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from ...architecture.spec import ParseError, Spec
from ...store.compare import KEYS, Point, accuracy, compare, run_spec
from ...store.groups import GroupSummary, fold
from ...store.runs import EpochMetrics, RunRecord, RunStore, StoreError
from ..actions import RUNS, bindings
from ..dialogs.modals import Confirm, Prompt
from ..failures import unexpected
from ..panes.training import TRAIN_COLOR, VAL_COLOR, clock
from ..widgets import heatmap
from ..widgets.chart import Series, y_range
from ..widgets.curves import CurveChart
from ..widgets.info import Info
from ..widgets.map_grid import MapGrid
from ..widgets.scatter import ScatterPlot
from .context import Continue

if TYPE_CHECKING:
    from ...experiments.run import Continuation
    from .context import LessonContext

COLUMNS = ("#", "✓", "run", "arch", "params", "dataset", "val acc", "time", "status")


def pct(x: float | None) -> str:
    return f"{x:.1%}" if x is not None else "-"


def mean_sd(group: GroupSummary) -> str:
    """A group's val acc over its finished members: "95.1% ± 0.4" (sd in points), "-" when none finished."""
    acc = group.val_acc
    return pct(acc.mean) + (f" ± {acc.sd * 100:.1f}" if acc.mean is not None and acc.sd is not None else "")


def short_name(arch: str, room: int) -> str:
    return arch if len(arch) < room else arch[: room - 1] + "…"


def point(row: RunRecord | GroupSummary) -> Point:
    """A run on the scatter, or a group as its mean with a bar of ± one sd."""
    if isinstance(row, RunRecord):
        return Point(row.params, accuracy(row), short_name(row.arch, 16))
    acc = row.val_acc
    low = high = None
    if acc.mean is not None and acc.sd is not None:
        low, high = acc.mean - acc.sd, acc.mean + acc.sd
    return Point(row.params, acc.mean, f"{short_name(row.arch, 16)} ×{row.members}", low, high)


def run_arch(screen: Screen, record: RunRecord) -> Spec | None:
    """The run's architecture, to hand back to the main screen; None (and a notice) if unreadable."""
    spec = run_spec(record)
    if isinstance(spec, ParseError):
        screen.notify(f"cannot load run {record.run_id}: {spec}", severity="error", timeout=5)
        return None
    return spec


def plot_curves(loss: CurveChart, acc: CurveChart, metrics: Sequence[EpochMetrics]) -> None:
    """A run's per-epoch train and val curves, the first epoch on the left edge."""
    xs = [m.epoch - 1 for m in metrics]
    x_max = max(1, *xs)
    loss.plot(
        (
            Series(xs, [m.train_loss for m in metrics], TRAIN_COLOR, "train"),
            Series(xs, [m.val_loss for m in metrics], VAL_COLOR, "val"),
        ),
        x_max,
        y_range([v for m in metrics for v in (m.train_loss, m.val_loss)], floor=0.0),
    )
    acc.plot(
        (
            Series(xs, [m.train_acc for m in metrics], TRAIN_COLOR, "train"),
            Series(xs, [m.val_acc for m in metrics], VAL_COLOR, "val"),
        ),
        x_max,
        y_range([v for m in metrics for v in (m.train_acc, m.val_acc)], ceiling=1.0),
    )


def run_heading(record: RunRecord, show_volatile: bool) -> Text:
    """A run in three lines: what it trained, how well, and where."""
    text = Text.assemble((record.arch, "bold"), "  ", (f"{record.params:,}", "bold"), " params  ")
    status_style = "green" if record.status == "finished" else "yellow"
    text.append(record.status, style=status_style)
    text.append(f"\n{record.line}\n", style="dim")
    text.append(f"{record.dataset}  {record.epochs_done} epochs  val acc ")
    text.append(pct(accuracy(record)), style="bold")
    text.append(f"  best {pct(record.best_val_acc)}", style="dim")
    if show_volatile:
        text.append(f"\nrun {record.run_id}  {clock(record.seconds)}  {record.device}", style="dim")
    return text


class RunsScreen(Screen):
    """The runs table over the scatter: enter opens (a group: unfolds), g unfolds all, space marks, c compares
    two, S shifts two, l loads, e mistakes."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = bindings(RUNS)

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.context = context
        self.show_volatile = context.show_volatile
        self.store: RunStore | None = None
        self.records: list[RunRecord] = []  # the store's, newest first
        self.rows: list[RunRecord | GroupSummary] = []  # the table's: groups folded but those unfolded
        self.unfolded: set[str] = set()  # group ids shown as their runs, under the group's row
        self.all_unfolded = False
        self.marked: list[int] = []  # rows, at most two, in the order they were marked
        self.problem = ""

    def compose(self) -> ComposeResult:
        yield Info(id="runs-head")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield ScatterPlot(id="runs-scatter")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        try:
            self.store = RunStore.open(self.context.runs_dir)
            self.records = self.store.runs()
        except StoreError as exc:
            self.problem = str(exc)
        self._fill()
        table.focus()

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()

    def _layout(self) -> list[RunRecord | GroupSummary]:
        """Runs newest first, each group one row; an unfolded group's runs follow its row, oldest first."""
        rows: list[RunRecord | GroupSummary] = []
        members = {r.run_id: r for r in self.records}
        for row in fold(self.records):
            rows.append(row)
            if isinstance(row, GroupSummary) and (self.all_unfolded or row.group_id in self.unfolded):
                rows += [members[run_id] for run_id in row.run_ids]
        return rows

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        self.rows = self._layout()
        for i, r in enumerate(self.rows):
            table.add_row(*self._cells(i, r), key=str(i))
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        head = Text.assemble((f"{len(self.records)} runs", "bold"), ("  newest first", "dim"))
        groups = sum(isinstance(r, GroupSummary) for r in self.rows)
        if groups:
            head.append(f"  {groups} group{'s' * (groups > 1)}: enter unfolds one, g all", style="dim")
        if self.problem:
            head = Text(self.problem, style="red")
        elif not self.records:
            head.append("\nno runs yet: train one (t on the main screen) or `cnn-tui train simple_cnn`", style="yellow")
        self.query_one("#runs-head", Info).show(head)
        self._show_scatter()

    def _cells(self, i: int, r: RunRecord | GroupSummary) -> tuple[Text | str, ...]:
        mark = "●" if i in self.marked else ""
        key = Text(KEYS[i] if i < len(KEYS) else "", style="bold cyan")
        if isinstance(r, GroupSummary):
            fold_sign = "▾" if self.all_unfolded or r.group_id in self.unfolded else "▸"
            return (
                key,
                Text(mark, style="bold yellow"),
                r.group_id if self.show_volatile else "-",
                Text.assemble(f"{fold_sign} ", (short_name(r.arch, 30), "bold"), f" ×{r.members}"),
                Text(f"{r.params:,}", justify="right"),
                r.dataset,
                Text(mean_sd(r), justify="right"),
                Text(clock(r.seconds) if self.show_volatile else "-", justify="right"),
                r.status,
            )
        arch = short_name(r.arch, 40)
        return (
            key,
            Text(mark, style="bold yellow"),
            r.run_id if self.show_volatile else "-",
            Text(f"  └ seed {r.seed}", style="dim") if self._under_group(r) else arch,
            Text(f"{r.params:,}", justify="right"),
            r.dataset,
            Text(pct(accuracy(r)), justify="right"),
            Text(clock(r.seconds) if self.show_volatile else "-", justify="right"),
            r.status,
        )

    def _show_scatter(self) -> None:
        self.query_one(ScatterPlot).show([point(r) for r in self.rows], self.cursor, frozenset(self.marked))

    def _under_group(self, record: RunRecord) -> bool:
        return record.group_id is not None and (self.all_unfolded or record.group_id in self.unfolded)

    @property
    def cursor(self) -> int | None:
        return self.query_one(DataTable).cursor_row if self.rows else None

    @property
    def chosen_row(self) -> RunRecord | GroupSummary | None:
        return self.rows[self.cursor] if self.cursor is not None else None

    @property
    def chosen(self) -> RunRecord | None:
        """The run at the cursor; on a group's row, its newest member (for l and e)."""
        row = self.chosen_row
        if isinstance(row, GroupSummary):
            return next((r for r in self.records if r.run_id == row.run_ids[-1]), None)
        return row

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unfold_all":  # only where there is a group to unfold
            return any(r.group_id is not None for r in self.records)
        return True

    @on(DataTable.RowHighlighted)
    def highlighted(self) -> None:
        self._show_scatter()

    @on(DataTable.RowSelected)
    def selected(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.chosen_row
        if isinstance(row, GroupSummary):
            self.unfolded ^= {row.group_id}
            self.marked = []
            self._fill()
            return
        record = self.chosen
        if record is not None and self.store is not None:
            self.app.push_screen(RunScreen(self.context, self.store, record), self._loaded)

    def action_unfold_all(self) -> None:
        self.all_unfolded = not self.all_unfolded
        self.unfolded.clear()
        self.marked = []
        self._fill()

    def action_mark(self) -> None:
        i = self.cursor
        if i is None:
            return
        if i in self.marked:
            self.marked.remove(i)
        else:
            self.marked = [*self.marked, i][-2:]
        table = self.query_one(DataTable)
        for row in range(len(self.rows)):
            table.update_cell(str(row), "✓", Text("●" if row in self.marked else "", style="bold yellow"))
        self._show_scatter()

    def action_compare(self) -> None:
        if len(self.marked) != 2 or self.store is None:
            self.notify("mark two runs with space first, then c compares them", timeout=3)
            return
        a, b = (self.rows[i] for i in self.marked)
        if not isinstance(a, RunRecord) or not isinstance(b, RunRecord):
            self.notify("a group is many runs: unfold it (enter) and mark two of its runs", timeout=4)
            return
        self.app.push_screen(CompareScreen(self.store, a, b, self.show_volatile))

    def action_shift(self) -> None:
        from .shift import ShiftScreen

        if len(self.marked) != 2:
            self.notify("mark two runs with space first, then S shows them in the Shift view", timeout=3)
            return
        a, b = (self.rows[i] for i in self.marked)
        if not isinstance(a, RunRecord) or not isinstance(b, RunRecord):
            self.notify("a group is many runs: unfold it (enter) and mark two of its runs", timeout=4)
            return
        self.app.push_screen(ShiftScreen(self.context, (a.run_id, b.run_id)))

    def action_load(self) -> None:
        if self.chosen is not None:
            self._loaded(run_arch(self, self.chosen))

    def _loaded(self, spec: Spec | None) -> None:
        """A run's architecture chosen here or in a run's screen: back to the main screen with it."""
        if spec is not None:
            self.dismiss(spec)

    def action_mistakes(self) -> None:
        from .mistakes import MistakesScreen

        if self.chosen is not None:
            self.app.push_screen(MistakesScreen(self.context, self.chosen.run_id))

    def action_transplant(self) -> None:
        from .transplant import TransplantScreen

        if self.chosen is not None:
            self.app.push_screen(TransplantScreen(self.context, self.chosen), self._loaded)

    # -- resume ---------------------------------------------------------------------

    def action_resume(self) -> None:
        """Ask for the new total of epochs, then check the run can go on (in a thread: the checkpoint)."""
        record = self.chosen
        if record is None:
            return
        if self.context.training():
            self.notify("a run is going: x stops it, then continue this one", timeout=4)
            return
        if record.status == "running":
            self.notify(f"run {record.run_id} is still running", severity="error", timeout=4)
            return
        planned = int(record.config.get("epochs", record.epochs_done))
        total = planned if record.epochs_done < planned else record.epochs_done + planned
        self.app.push_screen(
            Prompt(
                f"Continue {record.arch}: epochs in total",
                str(total),
                partial(total_epochs, record.epochs_done),
                hint=f"{record.epochs_done} done; the run goes on to this many   enter: continue   escape: cancel",
            ),
            partial(self._resume_to, record),
        )

    def _resume_to(self, record: RunRecord, epochs: int | None) -> None:
        if epochs is not None:
            self.check_resume(record.run_id, epochs)

    @work(thread=True, exit_on_error=False, exclusive=True, group="resume")
    def check_resume(self, run_id: str, epochs: int) -> None:
        """In a thread: the run's checkpoint and its new config, or the one-line reason it cannot go on."""
        from ...experiments.run import continuation

        try:
            store = RunStore.open(self.context.runs_dir)
            try:
                result: Continuation | str = continuation(store, run_id, {"epochs": epochs})
            finally:
                store.close()
        except (StoreError, ValueError) as exc:
            result = str(exc)
        except Exception as exc:  # noqa: BLE001 - a notice, the traceback logged
            result = unexpected(self.app, exc, "reading the run's checkpoint")
        self.app.call_from_thread(self._continue, result)

    def _continue(self, result: Continuation | str) -> None:
        """Back to the main screen with the run to continue (its architecture and epochs so far), or a notice."""
        if isinstance(result, str):
            self.notify(f"cannot continue: {result}", severity="error", timeout=6)
            return
        spec = run_arch(self, result.record)
        if spec is not None and self.store is not None:
            self.dismiss(Continue(spec, result, tuple(self.store.metrics(result.record.run_id))))

    # -- delete ---------------------------------------------------------------------

    def action_delete(self) -> None:
        """Delete the marked runs (rows, curves, weights, checkpoints) once confirmed; a marked group, all its runs."""
        by_id = {r.run_id: r for r in self.records}
        chosen: list[RunRecord] = []
        for i in self.marked:
            row = self.rows[i]
            chosen.extend([by_id[k] for k in row.run_ids if k in by_id] if isinstance(row, GroupSummary) else [row])
        if not chosen or self.store is None:
            self.notify("mark a run with space first, then d deletes it", timeout=3)
            return
        running = next((r for r in chosen if r.status == "running"), None)
        if running is not None:
            self.notify(f"run {running.run_id} is still running (nothing deleted)", severity="error", timeout=5)
            return
        body = Text("Delete these runs and their weights? This cannot be undone.\n", style="bold")
        for r in chosen:
            body.append(f"\n{r.arch}  {r.dataset}  {r.epochs_done} epochs  val acc {pct(accuracy(r))}")
            if self.show_volatile:
                body.append(f"  run {r.run_id}", style="dim")
        title = f"Delete {len(chosen)} run{'s' if len(chosen) > 1 else ''}?"
        self.app.push_screen(Confirm(title, body, "Delete"), partial(self._delete, chosen))

    def _delete(self, chosen: list[RunRecord], yes: bool | None) -> None:
        if not yes or self.store is None:
            return
        deleted = 0
        try:
            for record in chosen:
                self.store.delete(record.run_id)
                deleted += 1
            self.records = self.store.runs()
        except StoreError as exc:
            self.notify(f"deleted {deleted} of {len(chosen)}: {exc}", severity="error", timeout=6)
        self.marked = []
        self._fill()
        if deleted == len(chosen):
            self.notify(f"deleted {deleted} run{'s' if deleted > 1 else ''}", timeout=3)


def total_epochs(done: int, text: str) -> int | str:
    """The prompt's answer as the run's new total of epochs, or why it is not one."""
    try:
        epochs = int(text.strip())
    except ValueError:
        return "a whole number of epochs"
    return epochs if epochs > done else f"the run has done {done} epochs: give a total above {done}"


class RunScreen(Screen):
    """One run: its settings, per-epoch curves and first weight layer; l loads it, e shows its mistakes."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("l", "load", "Load arch", tooltip="load the run's architecture into the editor (u undoes)"),
        Binding("e", "mistakes", "Mistakes"),
    ]

    def __init__(self, context: LessonContext, store: RunStore, record: RunRecord) -> None:
        super().__init__()
        self.context, self.store, self.record = context, store, record
        self.metrics = store.metrics(record.run_id)

    def compose(self) -> ComposeResult:
        yield Info(run_heading(self.record, self.context.show_volatile), id="run-head")
        with Horizontal(id="run-charts"):
            yield CurveChart("loss", "{:.2f}", id="run-loss")
            yield CurveChart("acc", "{:.0%}", id="run-acc")
        yield Info(Text("loading the first weight layer...", style="dim"), id="run-kern-head")
        yield MapGrid(id="run-kernels")
        yield Footer()

    def on_mount(self) -> None:
        plot_curves(self.query_one("#run-loss", CurveChart), self.query_one("#run-acc", CurveChart), self.metrics)
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """In a thread: the run's model (torch) and its first weight layer."""
        from ...lessons.models import first_layer_maps
        from ...store.compare import load_model

        try:
            result = first_layer_maps(load_model(self.store, self.record), run_spec(self.record))
        except StoreError as exc:
            result = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            result = unexpected(self.app, exc, "loading the run's weights")
        if isinstance(result, str):
            self.app.call_from_thread(self.show_maps, None, result, 0)
        else:
            self.app.call_from_thread(self.show_maps, result[0].numpy(), "", result[1])

    def show_maps(self, maps: np.ndarray | None, problem: str, params: int) -> None:
        head, grid = self.query_one("#run-kern-head", Info), self.query_one(MapGrid)
        if maps is None:
            head.show(Text(problem, style="yellow"))
            grid.show_maps(None)
            return
        scale = heatmap.max_abs(maps)
        n, h, w = maps.shape
        text = Text.assemble(("first weight layer  ", "bold"), f"{n} maps of {h}x{w}, {params:,} params  ")
        text.append_text(heatmap.legend(scale, 15))
        head.show(text)
        levels = heatmap.levels(maps, scale)
        if w < 8:
            levels = np.stack([heatmap.upscale(m, 4) for m in levels])
        grid.show_maps(levels)

    def action_load(self) -> None:
        spec = run_arch(self, self.record)
        if spec is not None:
            self.dismiss(spec)

    def action_mistakes(self) -> None:
        from .mistakes import MistakesScreen

        self.app.push_screen(MistakesScreen(self.context, self.record.run_id))


class CompareScreen(Screen):
    """Two runs side by side: settings, accuracy and loss curves, and what one costs against the other."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back")]

    def __init__(self, store: RunStore, a: RunRecord, b: RunRecord, show_volatile: bool) -> None:
        super().__init__()
        self.runs = (a, b)
        self.metrics = tuple(store.metrics(r.run_id) for r in self.runs)
        self.show_volatile = show_volatile

    def compose(self) -> ComposeResult:
        yield Info(self._verdict(), id="cmp-verdict")
        with Horizontal(id="cmp-body"):
            for k, record in enumerate(self.runs):
                with Vertical(classes="cmp-side"):
                    yield Info(run_heading(record, self.show_volatile), classes="cmp-head")
                    yield CurveChart("acc", "{:.0%}", id=f"cmp-acc-{k}")
                    yield CurveChart("loss", "{:.2f}", id=f"cmp-loss-{k}")
        yield Footer()

    def on_mount(self) -> None:
        for k, side in enumerate(self.query(".cmp-side")):
            side.border_title = f"{'AB'[k]}: {self.runs[k].arch}"
            plot_curves(
                self.query_one(f"#cmp-loss-{k}", CurveChart),
                self.query_one(f"#cmp-acc-{k}", CurveChart),
                self.metrics[k],
            )

    def _verdict(self) -> Text:
        """B against A in one line: parameters, accuracy and time."""
        a, b = self.runs
        c = compare(a, b)
        text = Text.assemble(("B ", "bold"), (b.arch, "bold"), " against ", ("A ", "bold"), (a.arch, "bold"), ": ")
        if c.params_ratio >= 1:
            text.append(f"{c.params_ratio:.1f}x fewer params", style="bold green")
        else:
            text.append(f"{1 / c.params_ratio:.1f}x more params", style="bold yellow")
        if c.acc_points is not None:
            text.append(f"  val acc {c.acc_points:+.1f} points")
        if c.time_ratio is not None and self.show_volatile:
            text.append(f"  {c.time_ratio:.2f}x the time", style="dim")
        return text
