"""The main screen: the four panes, and the wiring between them.

At 120x40 all four panes are visible; below 100 columns or 30 rows (breakpoint
classes) only the focused pane is shown, with a bar naming the others, and tab or
1-4 switch between them. The screen routes what one pane says to the others: a new
spec to the budget, the trainer and the kernels; weight snapshots to the kernels.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import OptionList

from ..architecture.budget import budget_of
from ..architecture.presets import preset
from ..architecture.spec import Spec
from .actions import SCREEN, bindings
from .compositor import RegionCompositor
from .dialogs.modals import ConfirmQuit
from .failures import unexpected
from .messages import InitialWeights, RunWeights, SettingsChanged, SpecChanged
from .panes.architecture import ArchitecturePane, LayerList
from .panes.budget import BudgetPane
from .panes.focus import restyle_alone
from .panes.kernels import KernelsPane
from .panes.training import RUNNING, TrainingPane
from .screens.context import Continue, LessonContext
from .screens.help import HelpScreen
from .views import VIEWS
from .widgets.budget_table import BudgetTable
from .widgets.footer import Footer
from .widgets.info import Info

if TYPE_CHECKING:
    from .messages import WeightSnapshot
    from .options import AppOptions

PANE_IDS = ("architecture", "budget", "training", "kernels")
PANE_TITLES = ("Architecture", "Budget", "Training", "Kernels")
INITIAL_DEBOUNCE_S = 0.3  # the initial weights are drawn once edits pause this long (holding a key edits fast)


class MainScreen(Screen):
    """Architecture, Budget, Training and Kernels on one screen."""

    # Textual's Screen repaints all of itself when the focus moves (the reactive's default); here
    # the widgets whose looks follow focus repaint themselves as they are restyled, and the rest
    # (most of a 120x40 screen, 20 ms of compositing on a slow core) is left alone.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]

    BINDINGS = [
        *bindings(SCREEN),
        *(Binding(view.key, f"view({i})", view.title, show=False) for i, view in enumerate(VIEWS)),
    ]

    def __init__(self, spec: Spec, options: AppOptions) -> None:
        super().__init__()
        self._compositor = RegionCompositor()  # repaints only the regions that changed (see its module)
        self.spec = spec
        self.options = options
        self.current = 0
        self._initial_timer: Timer | None = None
        self.initial_pending = True  # until the initial weights asked for are drawn (or not needed)

    def compose(self) -> ComposeResult:
        yield Info(id="pane-bar")
        with Grid(id="panes"):
            yield ArchitecturePane(self.spec, self.options.spec_dir, id="architecture", classes="pane current")
            yield BudgetPane(budget_of(preset("mlp")).total_params, id="budget", classes="pane")
            yield TrainingPane(self.options, id="training", classes="pane")
            yield KernelsPane(id="kernels", classes="pane")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(LayerList).focus()
        self._show_bar()
        self.call_after_refresh(self.want_initial_weights)  # after the first frame, which stays torch-free

    @property
    def training(self) -> TrainingPane:
        return self.query_one(TrainingPane)

    # -- wiring -------------------------------------------------------------------

    @on(SpecChanged)
    def spec_changed(self, message: SpecChanged) -> None:
        self.spec = message.spec
        self.query_one(BudgetPane).show(message.spec, message.budget)
        self.training.show_spec(message.spec, message.budget)
        self.query_one(KernelsPane).show_spec(message.spec, message.budget, keep_weights=self.training.running)
        self.want_initial_weights()

    @on(SettingsChanged)
    def want_initial_weights(self) -> None:
        """Draw the spec's initial weights once edits (or settings) pause; a run that is going keeps its own."""
        self.initial_pending = True
        if self._initial_timer is not None:
            self._initial_timer.stop()
        self._initial_timer = self.set_timer(INITIAL_DEBOUNCE_S, self._draw_initial_weights)

    def _draw_initial_weights(self) -> None:
        self._initial_timer = None
        training = self.training
        if training.running or training.problem is not None:
            self.initial_pending = False
            if not training.running:
                self.query_one(KernelsPane).show_problem(f"no weights to draw: {training.problem}")
            return
        work = partial(self._initial_weights, self.spec, training.config.seed)
        self.run_worker(work, thread=True, exclusive=True, group="initial", exit_on_error=False)

    def _initial_weights(self, spec: Spec, seed: int) -> None:
        """In a thread (torch): the weights a run with this seed would start from."""
        from .initial_weights import initial_snapshot

        try:
            self.post_message(InitialWeights(initial_snapshot(spec, seed)))
        except Exception as exc:  # noqa: BLE001 - shown in the pane, the traceback logged
            problem = unexpected(self.app, exc, "drawing the initial weights")
            self.app.call_from_thread(self._initial_weights_failed, problem)

    def _initial_weights_failed(self, problem: str) -> None:
        self.initial_pending = self._initial_timer is not None
        self.query_one(KernelsPane).show_problem(problem)

    @on(InitialWeights)
    def initial_weights(self, message: InitialWeights) -> None:
        self.initial_pending = self._initial_timer is not None  # another edit may already be waiting
        self.query_one(KernelsPane).show_initial(message.snapshot)

    @on(RunWeights)
    def run_weights(self, message: RunWeights) -> None:
        self.query_one(KernelsPane).show_weights(message.snapshot)

    @on(OptionList.OptionHighlighted, "#layers")
    def layer_highlighted(self, message: OptionList.OptionHighlighted) -> None:
        self.query_one(BudgetPane).follow(message.option_index)

    # -- panes and focus ------------------------------------------------------------

    def _pane_of(self, widget: Widget | None) -> int | None:
        while widget is not None and widget is not self:
            if widget.id in PANE_IDS:
                return PANE_IDS.index(widget.id)
            widget = widget.parent  # type: ignore[assignment]
        return None

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        index = self._pane_of(event.widget)
        if index is not None and index != self.current:
            self._mark_current(index)

    def _mark_current(self, index: int) -> None:
        """Class the current pane (small terminals show only it) and name it in the bar.

        Only the two panes whose class changes are restyled, not their descendants (Textual's
        default): no rule below a pane depends on `.current`.
        """
        changed = []
        for i, pane_id in enumerate(PANE_IDS):
            pane = self.query_one(f"#{pane_id}")
            if pane.has_class("current") != (i == index):
                pane.set_class(i == index, "current", update=False)
                changed.append(pane)
        restyle_alone(self.app, changed)
        self.current = index
        self._show_bar()

    def _update_focus_styles(self, focused: Widget | None = None, blurred: Widget | None = None) -> None:
        """Restyle the panes whose focus changed (their border shows it), not every widget in them.

        Textual restyles the whole subtree of a `:focus-within` node on each focus change,
        re-rendering a pane's every widget for a border colour: most of a key's cost on
        one core while training. No rule below a pane depends on its focus.
        """
        panes = {
            node
            for widget in (focused, blurred)
            if widget is not None
            for node in widget.ancestors_with_self
            if node._has_focus_within
        }
        if panes:
            restyle_alone(self.app, panes)

    def _show_bar(self) -> None:
        """The panes by number, and as many lesson views' keys, in order, as the width allows (all are in ?).

        Each count of views is tried wide, then with the panes closer together and no "? help"
        (the footer has it). A bar naming fewer than half the views would read as if they were
        all there, so below that it says where to find them instead.
        """

        def panes(gap: str) -> Text:
            text = Text()
            for i, title in enumerate(PANE_TITLES):
                style = "bold reverse" if i == self.current else "dim"
                text.append(f" {i + 1} {title} ", style=style)
                text.append(gap)
            return text

        bar = Text.assemble(panes(" "), (" tab: next pane  ?: help", "dim"))
        for shown in range(len(VIEWS), len(VIEWS) // 2, -1):
            lessons = Text("│ ", style="dim")
            for view in VIEWS[:shown]:
                lessons.append(view.key, style="bold")
                lessons.append(f" {view.short} ", style="dim")
            wide = Text.assemble(panes(" "), lessons, ("│ ? help", "dim"))
            closer = Text.assemble(panes(""), lessons)
            fits = next((b for b in (wide, closer) if b.cell_len <= self.size.width), None)
            if fits is not None:
                bar = fits
                break
        self.query_one("#pane-bar", Info).show(bar)

    def on_resize(self) -> None:
        self._show_bar()

    def _focus_target(self, index: int) -> Widget:
        pane = self.query_one(f"#{PANE_IDS[index]}")
        if index == 0:
            return pane.query_one(LayerList)
        if index == 1:
            return pane.query_one(BudgetTable)
        return pane

    def action_pane(self, index: int) -> None:
        """Focus a pane; on small terminals also show it."""
        self._mark_current(index)
        # Now, not after a refresh as widget.focus() would: the very next key press must reach the pane.
        self.set_focus(self._focus_target(index))
        self.query_one(Footer).show_kept()  # its keys in this frame: one layout and paint, not two

    def action_cycle(self, step: int) -> None:
        self.action_pane((self.current + step) % len(PANE_IDS))

    def action_train(self, action: str) -> None:
        """t, space and x work from every pane, as if the Training pane had them."""
        pane = self.training
        {"start": pane.action_start, "pause": pane.action_pause, "stop": pane.action_stop}[action]()

    def action_view(self, index: int) -> None:
        """Open a lesson view over the main screen (escape comes back; a returned spec is loaded)."""
        self.app.push_screen(VIEWS[index].make(self.lesson_context()), self._view_result)

    def lesson_context(self) -> LessonContext:
        """What the lesson views are handed: values, and a function for the latest weights."""
        training = self.training
        return LessonContext(
            spec=self.spec,
            dataset=training.dataset,
            data_dir=training.data_dir,
            runs_dir=training.runs_dir,
            show_volatile=training.show_volatile,
            seed=training.config.seed,
            latest_run_id=training.run_id if training.state not in RUNNING else None,
            training=lambda: self.training.running,
            weights=self.trained_weights,
            config=training.config,
            seeds=training.seeds,
            torch_threads=training.torch_threads,
        )

    def trained_weights(self) -> WeightSnapshot | None:
        """The latest weights (live or final) of the architecture on this screen, or None before any run of it."""
        snap = self.training.weights
        return snap if snap is not None and snap.spec == self.spec and snap.state_dict is not None else None

    def _view_result(self, result: Spec | Continue | None) -> None:
        """A view handed back an architecture (a run's): the editor's now, one undo step; or a run to continue."""
        if isinstance(result, Continue):
            if self.training.running:
                self.notify("a run is going: x stops it, then continue the other", timeout=3)
                return
            self._load_spec(result.spec, "continuing run " + result.continuation.record.run_id)
            self.training.continue_run(result.spec, result.continuation, result.metrics)
        elif isinstance(result, Spec):
            self._load_spec(result, "loaded " + (result.name if result.name != "custom" else result.line()))

    def _load_spec(self, spec: Spec, what: str) -> None:
        self.query_one(ArchitecturePane).change(spec, 0)
        self.notify(f"{what} (u undoes)", timeout=3)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Quit; while a run is going ask first, then stop it and let it complete its record."""
        if not self.training.running:
            self.app.exit()
            return

        async def answered(quit_: bool | None) -> None:
            if quit_:
                await self.training.stop_and_wait()
                self.app.exit()

        self.app.push_screen(ConfirmQuit(), answered)
