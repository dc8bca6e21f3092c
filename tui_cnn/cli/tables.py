"""Rich output for the CLI: tables and progress drawn from the core's rows and events."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console, Group
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..architecture.presets import PRESETS
from ..architecture.spec import format_shape
from ..lessons.matrix import weight_mark
from ..training.events import Ended, EpochEnd, Started, Step

if TYPE_CHECKING:
    from ..architecture.budget import Budget
    from ..architecture.spec import Spec
    from ..experiments.ladder import Factors, RungResult
    from ..experiments.probes import PermuteResult
    from ..experiments.sweep import SweepResult
    from ..lessons.fields import RFRow
    from ..lessons.matrix import ConvMatrix
    from ..lessons.transplant import Report
    from ..store.export import Exported
    from ..store.groups import EpochBand, GroupSummary, Spread
    from ..store.runs import EpochMetrics, RunRecord
    from ..training.data import DatasetInfo

SPARK = "▁▂▃▄▅▆▇█"


PIPE_WIDTH = 10_000  # columns when not a terminal: a pipe or a file has no edge to cut text at


def console(stderr: bool = False) -> Console:
    """Rich output on stdout (or stderr); to a pipe or a file, wide enough that nothing is cut or wrapped."""
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:
        out.width = PIPE_WIDTH
    return out


def pct(x: float | None) -> str:
    return f"{x * 100:.1f}%" if x is not None else "-"


def spark(values: list[float]) -> str:
    """A one-line curve: the run's shape at a glance in any terminal."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    return "".join(SPARK[round((v - lo) / span * (len(SPARK) - 1))] for v in values)


def summary_table(spec: Spec, budget: Budget) -> Table:
    table = Table(title=f"{spec.name}  input {format_shape(budget.input_shape)}", title_justify="left")
    for col, justify in (
        ("#", "right"),
        ("layer", "left"),
        ("output", "left"),
        ("params", "right"),
        ("mult-adds", "right"),
        ("dense equiv", "right"),
        ("sharing", "right"),
    ):
        table.add_column(col, justify=justify)
    for r in budget.rows:
        if r.error:
            table.add_row(str(r.index), r.spec, Text(r.error, style="bold red"), "", "", "", "")
            continue
        table.add_row(
            str(r.index),
            r.spec,
            format_shape(r.out_shape),
            f"{r.params:,}" if r.params else "",
            f"{r.macs:,}" if r.macs else "",
            f"{r.dense_equiv:,}" if r.dense_equiv is not None else "",
            f"{r.sharing:,.0f}x" if r.sharing and r.sharing >= 1.5 else "",
            style="dim" if r.out_shape is None else None,
        )
    table.add_section()
    table.add_row(
        "",
        "total",
        format_shape(budget.out_shape),
        f"{budget.total_params:,}",
        f"{budget.total_macs:,}",
        f"{budget.total_dense_equiv:,}",
        "",
        style="bold",
    )
    return table


def presets_table() -> Table:
    from ..architecture.budget import budget_of
    from ..architecture.presets import preset

    table = Table("name", "params", "architecture", "about")
    table.columns[1].justify = "right"
    for name, (line, about) in PRESETS.items():
        table.add_row(name, f"{budget_of(preset(name)).total_params:,}", line, about)
    return table


class TrainProgress:
    """Epoch and step bars with loss, accuracy, samples/s and ETA, on stderr.

    When stderr is not a terminal (a log file, a pipe) there are no bars to redraw: one line an epoch.
    """

    def __init__(self, name: str, quiet: bool = False) -> None:
        self.name = name
        self.device: str | None = None
        err = console(stderr=True)
        self.lines = not quiet and not err.is_terminal
        self.steps_per_epoch = 0
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or self.lines,
            transient=False,
        )
        self.epochs: TaskID | None = None
        self.steps: TaskID | None = None

    def __enter__(self) -> TrainProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, event: Any) -> None:
        p = self.progress
        if isinstance(event, Started):
            self.device = event.device
            p.console.print(
                f"[bold]{self.name}[/] {event.params:,} params on {event.dataset} "
                f"({event.train_size:,} train / {event.val_size:,} val), {event.device_name}"
            )
            for note in event.config.get("notes", []):  # e.g. "amp ignored on cpu"
                p.console.print(f"[yellow]note:[/] {note}")
            self.steps_per_epoch = event.steps_per_epoch
            self.epochs = p.add_task("epochs", total=event.epochs, stats="")
            self.steps = p.add_task("steps ", total=event.steps_per_epoch, stats="")
        elif isinstance(event, Step) and self.steps is not None:
            p.update(
                self.steps,
                completed=event.epoch_step,
                stats=f"loss {event.loss:.3f}  acc {pct(event.acc)}  {event.samples_per_s:,.0f} samples/s",
            )
        elif isinstance(event, EpochEnd) and self.lines and self.epochs is not None:
            p.console.print(
                f"epoch {event.epoch}/{p.tasks[self.epochs].total}  steps {self.steps_per_epoch}/{self.steps_per_epoch}"
                f"  loss {event.train_loss:.3f}  acc {pct(event.train_acc)}  val acc {pct(event.val_acc)}"
                f"  val loss {event.val_loss:.3f}  {event.samples_per_s:,.0f} samples/s  {event.seconds:.1f} s"
            )
        elif isinstance(event, EpochEnd) and self.epochs is not None and self.steps is not None:
            p.update(
                self.epochs, completed=event.epoch, stats=f"val acc {pct(event.val_acc)}  val loss {event.val_loss:.3f}"
            )
            if event.epoch < (p.tasks[self.epochs].total or 0):
                p.reset(self.steps, stats="")  # the last epoch's bar stays full


def ended_line(result: dict, ended: Ended) -> Text:
    style = {"finished": "bold green", "interrupted": "yellow"}.get(ended.status, "bold red")
    return Text.assemble(
        (f"{ended.status} ", style),
        f"run {result['run_id']}: {result['arch']} ({result['params']:,} params) "
        f"val acc {pct(result['val_acc'])} after {result['epochs']} epoch{'' if result['epochs'] == 1 else 's'}, "
        f"{result['seconds']:.1f} s, {result['samples_per_s']:,.0f} samples/s on {result['device']}",
    )


def compare_table(results: list[dict]) -> Table:
    table = Table("arch", "params", "val acc", "seconds", "samples/s", "status")
    for col in table.columns[1:5]:
        col.justify = "right"
    for r in results:
        table.add_row(
            r["arch"],
            f"{r['params']:,}",
            pct(r["val_acc"]),
            f"{r['seconds']:.1f}",
            f"{r['samples_per_s']:,.0f}",
            r["status"],
        )
    return table


def mean_sd(spread: Spread, n: bool = False) -> str:
    """A group's accuracy: "93.1% ± 0.4" (points), with "(n 3)" when asked; "-" when none finished."""
    if spread.mean is None:
        return "-"
    text = pct(spread.mean) + (f" ± {spread.sd * 100:.1f}" if spread.sd is not None else "")
    return text + (f" (n {spread.n})" if n else "")


def folded_acc(group: GroupSummary) -> str:
    """A folded group's val acc in few columns: "95.1±1.0" (mean and sd in points, over the finished members)."""
    acc = group.val_acc
    if acc.mean is None:
        return "-"
    return f"{acc.mean * 100:.1f}" + (f"±{acc.sd * 100:.1f}" if acc.sd is not None else "%")


def short_status(group: GroupSummary) -> str:
    """A folded group's status in one word's room: "finished", else the members that did not ("1 diverged")."""
    parts = [part for part in group.status.split(", ") if not part.endswith(" finished")]
    return ", ".join(parts) if parts else group.status


def runs_table(records: Sequence[RunRecord | GroupSummary], cap_arch: bool = True) -> Table:
    """One line a run or a folded group, narrow enough for 80 columns (`runs show` and `--json` have the rest).

    `cap_arch=False` (for a pipe or a file) keeps long architectures whole.
    """
    from ..store.groups import GroupSummary

    table = Table(
        "run", "arch", "params", "dataset", "status", "epochs", "val acc", "time",
        box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False,
    )  # fmt: skip
    for col in (2, 5, 6, 7):
        table.columns[col].justify = "right"
    # The run id is what `runs show` takes: never cut it; the arch column gives way first (wrapping).
    for col in (0, 2, 3, 4, 5, 6, 7):
        table.columns[col].no_wrap = True
    table.columns[1].min_width = 6
    for r in records:
        arch = r.arch if len(r.arch) < 40 or not cap_arch else r.arch[:39] + "…"
        if isinstance(r, GroupSummary):
            table.add_row(
                r.group_id, f"{arch} x{r.members}", f"{r.params:,}", r.dataset, short_status(r), str(r.epochs_done),
                folded_acc(r), f"{r.seconds:.1f}s",
            )  # fmt: skip
            continue
        table.add_row(
            r.run_id, arch, f"{r.params:,}", r.dataset, r.status, str(r.epochs_done), pct(r.final_val_acc),
            f"{r.seconds:.1f}s",
        )  # fmt: skip
    if not records:
        table.caption = "no runs yet: try `cnn-tui train simple_cnn`"
    return table


def group_panel(summary: GroupSummary, members: Sequence[RunRecord], bands: Sequence[EpochBand]) -> Group:
    """A group: what its members share, each member's line, and the curve as mean ± sd an epoch."""
    lr = f"lr {summary.lr:g}" if summary.lr is not None else "lrs differ"
    head = Text.assemble(
        (f"{summary.group_id}  ", "bold"),
        f"{summary.arch} x{summary.members}  {summary.params:,} params  {summary.dataset}  {lr}  {summary.status}",
        f"  (sweep {summary.sweep_id})\n" if summary.sweep_id else "\n",
        f"val acc {mean_sd(summary.val_acc, n=True)}",
        f", min {pct(summary.val_acc.min)}, max {pct(summary.val_acc.max)}" if summary.val_acc.n > 1 else "",
    )
    runs = Table("run", "seed", "lr", "status", "epochs", "val acc", "best", box=box.SIMPLE_HEAD)
    for m in members:
        lr_text = f"{m.lr:g}" if m.lr is not None else "-"
        runs.add_row(
            m.run_id, str(m.seed), lr_text, m.status, str(m.epochs_done), pct(m.final_val_acc), pct(m.best_val_acc)
        )
    curve = Table("epoch", "n", "train loss", "val loss", "val acc", box=box.SIMPLE_HEAD)
    for b in bands:
        curve.add_row(
            str(b.epoch), str(b.val_acc.n), f"{b.train_loss.mean:.4f}", f"{b.val_loss.mean:.4f}", mean_sd(b.val_acc)
        )
    spark_line = Text(
        f"mean val acc {spark([b.val_acc.mean for b in bands if b.val_acc.mean is not None])}", style="cyan"
    )
    return Group(head, runs, spark_line, curve)


def _where(event: Started) -> str:
    """The device a run trains on as the user named it (cuda:1), else its kind (cuda for auto)."""
    named = str(event.config.get("device", "auto"))
    return event.device if named == "auto" else named


class SweepProgress:
    """One bar per group (an architecture's members in one step): the members' mean loss and accuracy, on stderr.

    Each bar and line names its architecture and device: a sweep over several devices trains
    groups at once, their events arriving from one thread per device (hence the lock). When
    stderr is not a terminal: one line per group and epoch, once every live member has reported it.
    """

    def __init__(self, quiet: bool = False) -> None:
        err = console(stderr=True)
        self.lines = not quiet and not err.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[epoch]}"),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=err,
            disable=quiet or self.lines,
        )
        self.quiet = quiet
        self.tasks: dict[int, TaskID] = {}
        self.started: dict[int, dict[int, Started]] = {}
        self.ended: dict[int, set[int]] = {}
        self.steps: dict[int, dict[int, tuple[float, float]]] = {}
        self.epochs: dict[tuple[int, int], list[float]] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> SweepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def _print(self, text: str) -> None:
        if not self.quiet:
            self.progress.console.print(text)

    def __call__(self, group: int, member: int, event: Any) -> None:
        with self._lock:
            self._add(group, member, event)

    def _add(self, group: int, member: int, event: Any) -> None:
        p = self.progress
        if isinstance(event, Started):
            started = self.started.setdefault(group, {})
            started[member] = event
            if group not in self.tasks:
                size = event.config.get("group_size", 1)
                where = _where(event)
                named = event.device_name if where == event.device else f"{event.device_name} ({where})"
                self._print(
                    f"[bold]{event.arch}[/] x{size} members, {event.params:,} params each, on {event.dataset} "
                    f"({event.train_size:,} train / {event.val_size:,} val), {named}"
                )
                total = event.epochs * event.steps_per_epoch
                label = f"{event.arch} x{size} on {where}"
                self.tasks[group] = p.add_task(label, total=total, epoch="", stats="")
        elif isinstance(event, Step) and group in self.tasks:
            steps = self.steps.setdefault(group, {})
            steps[member] = (event.loss, event.acc)
            loss = sum(v[0] for v in steps.values()) / len(steps)
            acc = sum(v[1] for v in steps.values()) / len(steps)
            p.update(
                self.tasks[group],
                completed=event.step,
                epoch=f"epoch {event.epoch}",
                stats=f"mean loss {loss:.3f}  acc {pct(acc)}  {event.samples_per_s * len(steps):,.0f} samples/s",
            )
        elif isinstance(event, EpochEnd) and group in self.tasks:
            accs = self.epochs.setdefault((group, event.epoch), [])
            accs.append(event.val_acc)
            live = len(self.started.get(group, {})) - len(self.ended.get(group, set()))
            if len(accs) >= live:
                mean = sum(accs) / len(accs)
                if self.lines:
                    first = next(iter(self.started[group].values()))
                    self._print(
                        f"{first.arch} on {_where(first)} epoch {event.epoch}  members {len(accs)}"
                        f"  mean val acc {pct(mean)}"
                    )
                else:
                    p.update(self.tasks[group], stats=f"mean val acc {pct(mean)}")
        elif isinstance(event, Ended):
            self.ended.setdefault(group, set()).add(member)
            started = self.started.get(group, {}).get(member)
            if event.status != "finished" and started is not None:
                seed = started.config.get("seed")
                self._print(f"[yellow]{started.arch} seed {seed}:[/] {event.status}: {event.message}")


def _group_rate(result: SweepResult, group_id: str) -> float:
    """A group's members' samples per second together (they trained side by side)."""
    return sum(r["samples_per_s"] for r in result.runs if r["group_id"] == group_id)


def sweep_table(result: SweepResult) -> Group:
    """A sweep's groups, mean ± sd over seeds, then its totals."""
    table = Table(
        "group", "arch", "params", "lr", "n", "val acc", "min", "max", "samples/s",
        title=f"sweep {result.sweep_id}: val acc, mean ± sd over seeds", title_justify="left",
    )  # fmt: skip
    for col in table.columns[2:]:
        col.justify = "right"
    for g in result.groups:
        table.add_row(
            g.group_id, g.arch, f"{g.params:,}", f"{g.lr:g}" if g.lr is not None else "-", str(g.val_acc.n),
            mean_sd(g.val_acc), pct(g.val_acc.min), pct(g.val_acc.max), f"{_group_rate(result, g.group_id):,.0f}",
        )  # fmt: skip
    total = Text(
        f"{len(result.runs)} members in {result.seconds:.1f} s, {result.samples_per_s:,.0f} samples/s together"
        f" ({result.status})"
    )
    return Group(table, total)


def compare_groups_table(result: SweepResult) -> Table:
    """`compare --seeds`: the compare table with each architecture's val acc as mean ± sd over its seeds."""
    table = Table("arch", "params", "val acc", "n", "seconds", "samples/s", "status")
    for col in table.columns[1:6]:
        col.justify = "right"
    for g in result.groups:
        table.add_row(
            g.arch, f"{g.params:,}", mean_sd(g.val_acc), str(g.val_acc.n), f"{g.seconds:.1f}",
            f"{_group_rate(result, g.group_id):,.0f}", g.status,
        )  # fmt: skip
    return table


def run_panel(record: RunRecord, metrics: list[EpochMetrics]) -> Group:
    head = Text.assemble(
        (f"{record.run_id}  ", "bold"),
        f"{record.arch}  {record.params:,} params  {record.dataset}  {record.status}  {record.device}\n",
        f"{record.line}\n",
        f"best val acc {pct(record.best_val_acc)}, final {pct(record.final_val_acc)}, {record.seconds:.1f} s",
    )
    table = Table("epoch", "train loss", "train acc", "val loss", "val acc", "seconds")
    for m in metrics:
        table.add_row(
            str(m.epoch),
            f"{m.train_loss:.4f}",
            pct(m.train_acc),
            f"{m.val_loss:.4f}",
            pct(m.val_acc),
            f"{m.seconds:.2f}",
        )
    curve = Text(f"val acc {spark([m.val_acc for m in metrics])}", style="cyan")
    return Group(head, curve, table)


def exported_line(done: Exported) -> Text:
    """What an export wrote, and that it reproduces the run."""
    files = ", ".join(done.files)
    return Text.assemble(
        (f"exported run {done.run_id} as {done.format}", "bold"),
        f" to {done.out}\n  {files}\n",
        f"val acc {pct(done.val_acc)} (the run's {pct(done.run_val_acc)}),"
        f" largest logit difference {done.max_abs_diff:.1e}",
    )


def data_table(infos: list[DatasetInfo]) -> Table:
    table = Table("name", "present", "train", "val", "about")
    for info in infos:
        table.add_row(
            info.name,
            "yes" if info.present else "no: cnn-tui data fetch " + info.name,
            f"{info.train_size:,}",
            f"{info.val_size:,}",
            info.description,
        )
    return table


class DownloadProgress:
    """A byte progress bar for `data fetch`, fed (done, total) by the fetcher."""

    def __init__(self, name: str) -> None:
        self.progress = Progress(
            TextColumn(f"fetching {name}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console(stderr=True),
        )
        self.task = self.progress.add_task(name, total=None)

    def __enter__(self) -> DownloadProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, done: int, total: int | None) -> None:
        self.progress.update(self.task, completed=done, total=total)


PALETTE = ["red", "green", "blue", "magenta", "cyan", "yellow", "bright_red", "bright_green", "bright_blue"]


def matrix_view(m: ConvMatrix, max_cols: int = 120) -> Group:
    """Each cell names the kernel weight it holds (a, b, c...), shared weights share a colour."""
    rows, cols = m.shape
    lines = []
    for row in m.pattern[:60]:
        line = Text()
        for idx in row[:max_cols]:
            if idx == 0:
                line.append("·", style="dim")
            else:
                mark = weight_mark(idx)
                line.append(mark, style=PALETTE[(idx - 1) % len(PALETTE)])
        lines.append(line)
    note = Text(
        f"{rows}x{cols} matrix for input {format_shape(m.in_shape)} -> {format_shape(m.out_shape)}: {m.cells:,} cells, "
        f"{m.nonzeros:,} non-zero, {m.distinct} distinct weights, each used {m.sharing:.1f}x on average",
        style="bold",
    )
    if rows > 60 or cols > max_cols:
        note.append(" (clipped to fit)", style="dim")
    return Group(note, *lines)


def rf_table(fields: list[RFRow]) -> Table:
    table = Table("#", "layer", "receptive field", "jump", "start", "coverage")
    for col in range(2, 6):
        table.columns[col].justify = "right"
    for r in fields:
        table.add_row(str(r.index), r.spec, f"{r.rf}x{r.rf}", str(r.jump), f"{r.start:g}", pct(r.coverage))
    return table


GRID_MAX_SHIFT = 5  # an 11x11 grid of accuracies still fits 80 columns


def shift_view(results: list[dict]) -> Group:
    """Accuracy by distance from the digit's place for every run, then each run's (dx, dy) grid where it fits."""
    from ..lessons.shift import by_distance

    rings = [by_distance([(s["dx"], s["dy"], s["val_acc"]) for s in r["shifts"]]) for r in results]
    max_k = max(d for d, _ in rings[0])
    table = Table(
        "run", "arch", "dataset", *(f"{d}px" for d in range(max_k + 1)), title="val acc % by shift (max |dx|, |dy|)"
    )
    for col in table.columns[3:]:
        col.justify = "right"
    for r, ring in zip(results, rings, strict=True):
        table.add_row(r["run_id"], r["arch"], r["dataset"], *(f"{acc * 100:.1f}" for _, acc in ring))
    parts: list[Any] = [table]
    if max_k <= GRID_MAX_SHIFT:
        table.caption = "grids below: the digit moved dx right, dy down"
        for r in results:
            head = Text(f"\n{r['arch']} {r['run_id']} {r['dataset']}", style="bold")
            grid = Table(
                "dy\\dx", *(f"{dx:+d}" if dx else "0" for dx in range(-max_k, max_k + 1)),
                box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1),
            )  # fmt: skip
            for col in grid.columns:
                col.justify = "right"
            acc = {(s["dx"], s["dy"]): s["val_acc"] for s in r["shifts"]}
            for dy in range(-max_k, max_k + 1):
                cells = [f"{acc[(dx, dy)] * 100:.1f}" for dx in range(-max_k, max_k + 1)]
                grid.add_row(f"{dy:+d}" if dy else "0", *cells, style="bold" if dy == 0 else None)
            parts += [head, grid]
    return Group(*parts)


def shift_groups_table(groups: list[dict]) -> Table:
    """Each group's accuracy by distance from the digit's place: mean ± sd over its members."""
    from ..experiments.probes import ring_spread

    rings = [ring_spread(g["members"]) for g in groups]
    max_k = max(d for d, _, _ in rings[0])
    table = Table(
        "group", "arch", "dataset", "n", *(f"{d}px" for d in range(max_k + 1)),
        title="val acc % by shift (max |dx|, |dy|), mean ± sd over each group's members", title_justify="left",
    )  # fmt: skip
    for col in table.columns[3:]:
        col.justify = "right"
    for g, ring in zip(groups, rings, strict=True):
        cells = [f"{mean * 100:.1f}" + (f" ± {sd * 100:.1f}" if sd is not None else "") for _, mean, sd in ring]
        table.add_row(g["group_id"], g["arch"], g["dataset"], str(g["n"]), *cells)
    return table


def _mean_sd(mean: float, sd: float | None) -> str:
    return f"{mean * 100:.1f}%" + (f" ± {sd * 100:.1f}" if sd is not None else "")


def permute_table(results: list[PermuteResult], dataset: str, permutation: int) -> Table:
    """Plain against shuffled pixels, mean ± sd over the seeds, and the change in points."""
    from ..training.transforms import permuted_name

    table = Table(
        "arch", "params", dataset, permuted_name(dataset, permutation), "change", "n",
        title="shuffled pixels: val acc, mean ± sd over seeds", title_justify="left",
    )  # fmt: skip
    for col in table.columns[1:]:
        col.justify = "right"
    for r in results:
        table.add_row(
            r.arch,
            f"{r.params:,}",
            _mean_sd(r.plain_mean, r.plain_sd),
            _mean_sd(r.permuted_mean, r.permuted_sd),
            f"{r.change * 100:+.1f} pts",
            str(r.n),
        )
    return table


def transplant_view(report: Report, arch: str) -> Group:
    """The CNN and its MLP side by side: parameters, accuracy, and how far their outputs differ."""
    table = Table("", "architecture", "params", "val acc", box=box.SIMPLE_HEAD)
    for col in (2, 3):
        table.columns[col].justify = "right"
    table.add_row("CNN", arch, f"{report.params_cnn:,}", pct(report.val_acc_cnn))
    table.add_row("MLP", report.line, f"{report.params_mlp:,}", pct(report.val_acc_mlp))
    ratio = report.params_mlp / report.params_cnn if report.params_cnn else 0.0
    note = Text.assemble(
        (f"run {report.run_id}: ", "bold"),
        f"the same function with {ratio:,.1f}x the parameters; largest output difference "
        f"{report.max_abs_diff:.2g} over the validation set",
    )
    return Group(note, table)


def ladder_table(rungs: Sequence[RungResult], found: Factors, verdict: str, sweep_id: str) -> Group:
    """The ladder: each rung's parameters and accuracy over seeds, what each idea saves, the result in words."""
    table = Table(
        "rung", "params", "locality", "sharing", "val acc", "n", "parameters saved",
        title=f"the ladder (sweep {sweep_id}): val acc, mean ± sd over seeds", title_justify="left",
    )  # fmt: skip
    for col in (1, 4, 5, 6):
        table.columns[col].justify = "right"
    saved = {"local_cnn": f"{found.locality:.1f}x by locality", "simple_cnn": f"{found.sharing:.1f}x by sharing"}
    for r in rungs:
        acc = pct(r.val_acc_mean) + (f" ± {r.val_acc_sd * 100:.1f}" if r.val_acc_sd is not None else "")
        table.add_row(
            r.arch, f"{r.params:,}", "yes" if r.locality else "no", "yes" if r.sharing else "no",
            acc if r.val_acc_mean is not None else "-", str(r.n), saved.get(r.arch, ""),
        )  # fmt: skip
    return Group(table, Text(verdict, style="bold"))
