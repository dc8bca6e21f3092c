"""Ladder (l): sharing or locality? Each rung's parameters and accuracy, and what each idea buys, in words.

It shows the newest ladder in the runs store (`experiments.ladder_run.newest_ladder`), or
says how to make one. `t` trains the ladder here, in a thread worker, with the Training
pane's settings and seeds (3 when the pane trains solo runs, as `cnn-tui ladder` does); each
rung fills in as its group is stored, its result marshalled to the event loop. `x` stops it,
and so does leaving the view (the rungs finished so far stay in the store, their runs
completed, as a stopped `cnn-tui ladder` leaves them).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from ...experiments.ladder import RUNGS, RungResult, rung_params, verdict
from ...store.runs import RunStore, StoreError
from ...training.config import TrainConfig
from ..failures import unexpected
from ..widgets.info import Info
from ..widgets.ladder_bars import ladder_bars

if TYPE_CHECKING:
    from ...experiments.ladder_run import StoredLadder
    from ...experiments.sweep import Sweep
    from .context import LessonContext

LADDER_SEEDS = 3  # when the Training pane trains solo runs: a rung needs a spread


def ladder_table(results: list[RungResult], params: dict[str, int]) -> Table:
    """rung, params, locality, sharing, n, val acc mean ± sd: one row a rung, measured or not."""
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
    for name, justify in (("rung", "left"), ("params", "right"), ("locality", "center"), ("sharing", "center")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    table.add_column("n", justify="right")
    table.add_column("val acc", justify="right")
    by_arch = {r.arch: r for r in results}
    for rung in RUNGS:
        r = by_arch.get(rung.arch)
        acc = "-"
        if r is not None and r.val_acc_mean is not None:
            acc = f"{r.val_acc_mean:.1%}" + (f" ± {r.val_acc_sd * 100:.1f}" if r.val_acc_sd is not None else "")
        table.add_row(
            Text(rung.arch, style="bold"),
            f"{params[rung.arch]:,}",
            "✓" if rung.locality else "·",
            "✓" if rung.sharing else "·",
            str(r.n) if r is not None else "-",
            acc,
        )
    return table


class LadderScreen(Screen):
    """The ladder's table, its bars and its verdict; t trains it (filling in live), x stops it."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "train", "Train ladder", tooltip="train every rung as a seed group, with the Training settings"),
        Binding("x", "stop", "Stop", tooltip="stop the ladder; the rungs finished stay in the store"),
    ]

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.context = context
        self.params = rung_params()
        self.results: list[RungResult] = []
        self.sweep_id: str | None = None
        self.dataset: str | None = None
        self.state = "ready"  # ready | training | stopping | finished | interrupted | failed
        self.message = ""
        self.training_rung: str | None = None
        self._sweep: Sweep | None = None
        self._gone = False  # unmounted: results still arriving from the thread are dropped

    def compose(self) -> ComposeResult:
        yield Info(id="ladder-head")
        yield Info(id="ladder-table")
        yield Info(id="ladder-bars")
        yield Info(id="ladder-verdict")
        yield Footer()

    def on_mount(self) -> None:
        self._show()
        self.find_stored()

    @work(thread=True, exit_on_error=False, group="ladder")
    def find_stored(self) -> None:
        """In a thread (the ladder's module imports torch): the newest ladder in the store, if any."""
        from ...experiments.ladder_run import newest_ladder

        try:
            store = RunStore.open(self.context.runs_dir)
            try:
                found = newest_ladder(store)
            finally:
                store.close()
        except StoreError as exc:
            self.app.call_from_thread(self.ended, "failed", str(exc))
            return
        if found is not None:
            self.app.call_from_thread(self.stored, found)

    def stored(self, found: StoredLadder) -> None:
        if self.state == "ready":  # a ladder started meanwhile wins
            self.results, self.sweep_id, self.dataset = found.rungs, found.sweep_id, found.dataset
            self._show()

    def on_resize(self) -> None:
        self._show()

    def on_unmount(self) -> None:
        self._gone = True
        self.action_stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        running = self.state in ("training", "stopping")
        if action == "train":
            return None if running else True
        if action == "stop":
            return True if running else None
        return True

    # -- training --------------------------------------------------------------------------

    def action_train(self) -> None:
        if self.state in ("training", "stopping"):
            return
        base = self.context.config or TrainConfig()
        first = base.seed
        seeds = list(range(first, first + (self.context.seeds if self.context.seeds > 1 else LADDER_SEEDS)))
        self.results, self.sweep_id, self.dataset = [], None, self.context.dataset
        self.state, self.message, self.training_rung = "training", "", RUNGS[0].arch
        self.refresh_bindings()
        self._show()
        self.train(dataclasses.replace(base, weights_every=0.0), seeds)

    @work(thread=True, exit_on_error=False, group="ladder")
    def train(self, base: TrainConfig, seeds: list[int]) -> None:
        """In a thread: the data, then the ladder as a sweep; each rung's result goes to the loop as it is stored."""
        from ...experiments.ladder_run import ladder_sweep
        from ...training.data import DataError, load
        from ...training.devices import DeviceError, pick, set_torch_threads

        call = self.app.call_from_thread
        try:
            set_torch_threads(self.context.torch_threads)
            try:
                data = load(self.context.dataset, self.context.data_dir, device=pick(base.device))
            except (DataError, DeviceError) as exc:
                call(self.ended, "failed", str(exc))
                return
            store = RunStore.open(self.context.runs_dir)
            try:
                sweep = ladder_sweep(data, base, seeds, store, on_rung=lambda r: call(self.add_rung, r))
                self._sweep = sweep
                if self.state == "stopping":
                    sweep.stop()
                call(self.started, sweep.sweep_id)
                result = sweep.run()
            finally:
                self._sweep = None
                store.close()
            call(self.ended, result.status, "; ".join(result.notices))
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            call(self.ended, "failed", unexpected(self.app, exc, "training the ladder"))

    def started(self, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        self._show()

    def add_rung(self, result: RungResult) -> None:
        """A rung's group is stored: its row, bar and the verdict fill in; the next rung is training."""
        self.results = [*self.results, result]
        done = {r.arch for r in self.results}
        self.training_rung = next((rung.arch for rung in RUNGS if rung.arch not in done), None)
        self._show()

    def ended(self, status: str, message: str) -> None:
        self.state, self.message, self.training_rung = status, message, None
        if not self._gone:
            self.refresh_bindings()
        self._show()

    def action_stop(self) -> None:
        if self.state == "training":
            self.state = "stopping"
            sweep = self._sweep
            if sweep is not None:
                sweep.stop()
            if not self._gone:
                self.refresh_bindings()
            self._show()

    # -- drawing ---------------------------------------------------------------------------

    def _show(self) -> None:
        if self._gone:
            return
        head = Text("The ladder: sharing or locality?", style="bold")
        head.append("  simple_cnn's geometry, one change a rung; mlp beside it\n", style="dim")
        if self.state in ("training", "stopping"):
            head.append(f"{self.state} the ladder on {self.context.dataset}", style="bold yellow")
            if self.training_rung:
                head.append(f"  ({self.training_rung} now)", style="yellow")
            head.append("  x stops", style="dim")
        elif self.results:
            where = f"sweep {self.sweep_id}" if self.context.show_volatile and self.sweep_id else "the newest ladder"
            head.append(f"{where} on {self.dataset}", style="dim")
            head.append("  t trains it again", style="dim")
        else:
            head.append("no ladder in the runs store yet: t trains one here, or `cnn-tui ladder`", style="yellow")
        if self.state in ("failed", "interrupted") or self.message:
            head.append(f"\n{self.state}: {self.message}" if self.message else f"\n{self.state}", style="red")
        self.query_one("#ladder-head", Info).show(head)
        self.query_one("#ladder-table", Info).show(ladder_table(self.results, self.params))
        width = max(40, self.size.width - 2)
        self.query_one("#ladder-bars", Info).show(ladder_bars(self.results, self.params, width, self.training_rung))
        said = Text(verdict(self.results), style="bold")
        self.query_one("#ladder-verdict", Info).show(said)
