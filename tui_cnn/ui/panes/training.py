"""The Training pane: settings, progress, live curves; the run itself in a thread worker.

The core `Run` (a trainer whose events it records in the runs store) runs in a Textual
thread worker; with seeds above 1 in the settings, a `GroupRun` trains them as one group
in the same worker, its members' events folded (`GroupProgress`) into their mean, drawn
with a band for their spread (min..max over the members). Its callback (still in the
training thread) turns tensors into numpy arrays and posts a message; the UI stores the
latest values and redraws on its own clock a few times a second, so a fast trainer
cannot flood the event loop and a slow redraw cannot slow the trainer.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Label, ProgressBar
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from ...architecture.budget import Budget, check_trainable
from ...architecture.spec import Spec
from ...store.logs import details
from ...store.runs import runs_root
from ...training.events import Ended, EpochEnd, Started, Step, Weights
from ..actions import TRAINING, bindings
from ..dialogs.modals import HyperParams
from ..messages import (
    DeviceFound,
    RunEnded,
    RunEpoch,
    RunStarted,
    RunStep,
    RunWeights,
    SettingsChanged,
    WeightSnapshot,
)
from ..pacing import Pacer
from ..widgets.chart import Series, y_range
from ..widgets.curves import CurveChart
from ..widgets.info import Info
from .focus import RestyleAloneOnFocus

if TYPE_CHECKING:
    from ...experiments.run import Continuation
    from ...store.groups import Spread
    from ...store.runs import EpochMetrics
    from ...training.config import TrainConfig
    from ..options import AppOptions

log = logging.getLogger(__name__)

HISTORY = 4_000  # step points kept for the curves (and epochs); older ones are dropped
REDRAW_S = 0.5  # the pane redraws at most this often while training (twice a second)
TRAIN_COLOR, VAL_COLOR = "#4e9ddb", "#f0a030"
RUNNING = ("starting", "running", "paused", "stopping")


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:03."""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def failed(message: str) -> Ended:
    """The Ended of a run that could not start (bad data, no store, an exception)."""
    return Ended("failed", message, 0, None, None, None, 0.0, 0.0)


def weight_arrays(tensors: dict[int, Any]) -> dict[int, Any]:
    """Tensors -> float32 numpy arrays, done in the training thread (the final state dict may be on the GPU)."""
    return {i: t.detach().float().cpu().numpy() for i, t in tensors.items()}


def final_weights(state_dict: dict[str, Any] | None, spec: Spec) -> dict[int, Any]:
    """The trained conv, local and linear weights by layer index (nn.Sequential keys are `{index}.weight`)."""
    if not state_dict:
        return {}
    return weight_arrays(
        {
            i: state_dict[f"{i}.weight"]
            for i, layer in enumerate(spec.layers)
            if layer.kind in ("conv", "local", "linear") and f"{i}.weight" in state_dict
        }
    )


class TrainingPane(RestyleAloneOnFocus, Vertical, can_focus=True):
    """Dataset, device, hyper-parameters, epoch and step progress, loss and accuracy curves."""

    BINDINGS = bindings(TRAINING)

    def __init__(self, options: AppOptions, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = options.config
        self.dataset = options.dataset
        self.runs_dir = options.runs_dir
        self.data_dir = options.data_dir
        self.device_label = options.device_label
        self.fixed_label = options.device_label is not None
        self.show_volatile = options.show_volatile
        self.torch_threads = options.torch_threads
        self.spec: Spec | None = None
        self.problem: str | None = "no architecture yet"
        self.num_classes = 10
        self.state = "ready"
        self.message = ""
        self.run_id: str | None = None
        self.started: Started | None = None
        self.last_step: Step | None = None
        self.epochs: deque[EpochEnd] = deque(maxlen=HISTORY)
        self.steps: tuple[Step, ...] = ()
        self.seeds = 1  # above 1: a start trains a seed group (seed, seed + 1, ...)
        self.group = 1  # the members of the run shown (1: a solo run)
        self.step_bands: tuple[tuple[Spread, Spread], ...] = ()  # a group's (loss, acc) min..max a step
        self.epoch_bands: deque[tuple[Spread, Spread]] = deque(maxlen=HISTORY)  # and (val loss, val acc) an epoch
        self._run: Any = None
        self._stop_requested = False
        self._worker: Worker | None = None
        self._dirty = False
        self._pacer = Pacer()  # the live redraws, slowed while the UI costs more than its share
        self._device: Any = None
        self._gpu = ""  # the GPU's memory and utilisation, refreshed by a timer while training on CUDA
        self._gpu_timer: Timer | None = None
        self._enabled: tuple[object, ...] = ()
        # One event per run, set by that run's thread when its record is complete; a signal handler
        # waits on the current run's. Per run, so an old thread ending after a new t cannot mark the new run idle.
        self._run_done = threading.Event()
        self._run_done.set()
        self.weights: WeightSnapshot | None = None  # the latest, for the lesson views that rebuild the model

    def compose(self) -> ComposeResult:
        yield Info(id="train-head")
        yield Info(id="train-config")
        with Horizontal(classes="progress-row"):
            yield Label("epoch", classes="progress-label")
            yield ProgressBar(total=self.config.epochs, show_eta=False, show_percentage=False, id="epoch-bar")
            yield Info(id="epoch-count", classes="progress-count")
        with Horizontal(classes="progress-row"):
            yield Label("step", classes="progress-label")
            yield ProgressBar(total=1, show_eta=False, show_percentage=False, id="step-bar")
            yield Info(id="step-count", classes="progress-count")
        yield Info(id="train-stats")
        with Horizontal(id="charts"):
            yield CurveChart("loss", "{:.2f}", id="loss-chart")
            yield CurveChart("acc", "{:.0%}", id="acc-chart")

    def on_mount(self) -> None:
        self.border_title = "Training"
        self.set_interval(REDRAW_S, self._redraw_if_dirty)
        if self.device_label is None:
            self.run_worker(self._warm_up, thread=True, group="warm-up", exit_on_error=False)
        self._redraw()

    # -- state ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.state in RUNNING

    def show_spec(self, spec: Spec, budget: Budget) -> None:
        """The spec a start would train; an impossible one disables training, with the reason."""
        self.spec = spec
        self.problem = check_trainable(budget, self.num_classes)
        self.set_class(self.problem is not None, "disabled")
        self._redraw_head()  # the rest of the pane does not depend on the spec
        self._refresh_enabled()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start":
            return None if self.running or self.problem else True
        if action in ("pause", "stop"):
            return True if self.running else None
        if action == "settings":
            return None if self.running else True
        return True

    # -- actions -----------------------------------------------------------------------

    def action_start(self) -> None:
        if self.running:
            self.notify("a run is going: x stops it", timeout=3)
            return
        if self.problem or self.spec is None:
            self.notify(f"cannot train: {self.problem}", severity="error", timeout=5)
            return
        spec = self.spec
        self._begin(spec, spec.name if spec.name != "custom" else spec.line(), None)

    def continue_run(self, spec: Spec, continuation: Continuation, metrics: Sequence[EpochMetrics]) -> None:
        """Continue a stored run (checked by `continuation`): same id, its settings, its epochs drawn first."""
        if self.running:
            self.notify("a run is going: x stops it, then continue the other", timeout=3)
            return
        self.config, self.dataset = continuation.config, continuation.record.dataset
        self._begin(spec, continuation.record.arch, continuation)
        done = continuation.checkpoint.epoch
        self.epochs.extend(
            EpochEnd(m.epoch, m.train_loss, m.train_acc, m.val_loss, m.val_acc, m.seconds, 0.0)
            for m in metrics
            if m.epoch <= done
        )
        self._changed()

    def _begin(self, spec: Spec, arch: str, continuation: Continuation | None) -> None:
        """Start the training thread: a new run of `spec`, or `continuation`'s run going on."""
        self.state, self.message, self.run_id = "starting", "", None
        self.started, self.last_step = None, None
        self.steps, self.step_bands = (), ()
        self.epochs.clear()
        self.epoch_bands.clear()
        self.group = 1 if continuation is not None else self.seeds  # a continued run is one run
        self._run, self._stop_requested, self._gpu = None, False, ""
        done = self._run_done = threading.Event()
        if self.group == 1:
            work = partial(self._train, spec, self.dataset, self.config, arch, done, continuation)
        else:
            work = partial(self._train_group, spec, self.dataset, self.config, arch, done, seeds=self.group)
        self._worker = self.run_worker(
            work,
            thread=True,
            group="train",
            name="train",
            exit_on_error=False,
        )
        self._changed()

    def action_pause(self) -> None:
        trainer = self._run
        if trainer is None or self.state not in ("running", "paused"):
            return
        if self.state == "paused":
            trainer.resume()
            self.state = "running"
        else:
            trainer.pause()
            self.state = "paused"
        self._changed()

    def action_stop(self) -> None:
        if not self.running:
            return
        self.stop()
        self._changed()

    def stop(self) -> None:
        """Ask the trainer to stop between steps; it still reports Ended and the record is completed."""
        if self.running:
            self.state = "stopping"
        self.request_stop()

    def request_stop(self) -> None:
        """`stop` touching no widget: safe from a signal handler or another thread."""
        self._stop_requested = True
        trainer = self._run
        if trainer is not None:
            trainer.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Block (in a thread that is not the app's) until no run is going and its record is complete."""
        deadline = time.monotonic() + timeout
        while True:
            done = self._run_done
            if not done.wait(max(0.0, deadline - time.monotonic())):
                return False
            if done is self._run_done:  # else a new run began meanwhile: wait for that one
                return True

    async def stop_and_wait(self) -> None:
        """Stop the run and wait until its thread has finished (and recorded it)."""
        self.stop()
        worker = self._worker
        if worker is not None:
            try:
                await worker.wait()
            except (WorkerFailed, WorkerCancelled):
                pass  # the run's own Ended (or the failure message) was already posted

    def action_settings(self) -> None:
        if self.running:
            self.notify("settings are fixed while a run is going", timeout=3)
            return
        from ...training.data import DATASETS

        def chosen(result: tuple[TrainConfig, str, int] | None) -> None:
            if result is not None:
                changed = result[:2] != (self.config, self.dataset)
                self.config, self.dataset, self.seeds = result
                self._redraw()
                if changed:
                    self.post_message(SettingsChanged())

        self.app.push_screen(HyperParams(self.config, self.dataset, list(DATASETS), self.seeds), chosen)

    def on_unmount(self) -> None:
        self.stop()

    # -- the training thread -------------------------------------------------------------

    def _warm_up(self) -> None:
        """In a thread at start: name the device, and pay torch's one-off costs before the first run.

        torch and the trainer are imported and the dataset is parsed once a process; done
        now, a press of t starts training at once. Both hold the GIL in places, so they run
        while the user is still reading the screen.
        """
        try:
            from ...training.torch_import import import_torch

            import_torch()
            from ...training import trainer  # noqa: F401 - imported for its cost, now rather than at the first t
            from ...training.data import DataError, load
            from ...training.devices import device_name, pick

            device = pick(self.config.device)
            self.post_message(DeviceFound(device_name(device)))
            try:
                load(self.dataset, self.data_dir, device="cpu")
            except DataError:
                pass  # training will say why
        except Exception as exc:  # noqa: BLE001 - shown as the device label, never a traceback
            log.exception("warming torch up failed")
            self.post_message(DeviceFound(f"{self.config.device} ({exc})"))

    def _train(
        self,
        spec: Spec,
        dataset: str,
        config: TrainConfig,
        arch: str,
        done: threading.Event,
        continuation: Continuation | None,
    ) -> None:
        """In a thread: one `Run` (recorded and logged by the core), weights converted, events posted; `done` last."""
        post = self.post_message
        try:
            from ...experiments.run import Run
            from ...store.runs import RunStore

            self._prepare_thread()
            store = RunStore.open(self.runs_dir)
            history: deque[Step] = deque(maxlen=HISTORY)

            def on_event(event: Any) -> None:
                if isinstance(event, Step):
                    history.append(event)
                    post(RunStep(event, tuple(history)))
                elif isinstance(event, Weights):
                    arrays = weight_arrays(event.tensors)
                    post(RunWeights(WeightSnapshot(spec, event.step, event.epoch, arrays, state_dict=event.state_dict)))
                elif isinstance(event, EpochEnd):
                    post(RunEpoch(event))
                elif isinstance(event, Started):
                    post(RunStarted(event))
                elif isinstance(event, Ended):
                    arrays = final_weights(event.state_dict, spec)
                    if arrays:
                        snapshot = WeightSnapshot(spec, -1, event.epochs_done, arrays, True, event.state_dict)
                        post(RunWeights(snapshot))
                    post(RunEnded(dataclasses.replace(event, state_dict=None), run.run_id))

            resume = continuation.resume if continuation else None
            run = Run(spec, dataset, config, store, on_event, arch=arch, data_dir=self.data_dir, resume=resume)
            self._drive(run, store)
        except Exception as exc:  # noqa: BLE001 - shown in the pane, never a traceback
            self._failed(exc)
        finally:
            done.set()

    def _train_group(
        self, spec: Spec, dataset: str, config: TrainConfig, arch: str, done: threading.Event, *, seeds: int
    ) -> None:
        """In a thread: a seed group (`GroupRun`, every member a run in the store), posted as one run: the mean."""
        post = self.post_message
        try:
            from ...experiments.group_progress import GroupEnded, GroupEpoch, GroupProgress, GroupStep
            from ...experiments.group_run import GroupRun
            from ...store.runs import RunStore

            self._prepare_thread()
            store = RunStore.open(self.runs_dir)
            configs = [dataclasses.replace(config, seed=config.seed + k) for k in range(seeds)]
            progress = GroupProgress([c.seed for c in configs])
            history: deque[Step] = deque(maxlen=HISTORY)
            bands: deque[tuple[Spread, Spread]] = deque(maxlen=HISTORY)

            def on_event(member: int, event: Any) -> None:
                for out in progress.add(member, event):
                    if isinstance(out, GroupStep):
                        history.append(out.step)
                        bands.append((out.loss, out.acc))
                        post(RunStep(out.step, tuple(history), tuple(bands)))
                    elif isinstance(out, Weights):
                        arrays = weight_arrays(out.tensors)
                        post(RunWeights(WeightSnapshot(spec, out.step, out.epoch, arrays, state_dict=out.state_dict)))
                    elif isinstance(out, GroupEpoch):
                        post(RunEpoch(out.epoch, (out.val_loss, out.val_acc)))
                    elif isinstance(out, Started):
                        post(RunStarted(out))
                    elif isinstance(out, GroupEnded):
                        event = out.ended
                        arrays = final_weights(event.state_dict, spec)
                        if arrays:
                            snapshot = WeightSnapshot(spec, -1, event.epochs_done, arrays, True, event.state_dict)
                            post(RunWeights(snapshot))
                        post(RunEnded(dataclasses.replace(event, state_dict=None), run.run_ids[0]))

            run = GroupRun(spec, dataset, configs, store, on_event, arch=arch, data_dir=self.data_dir)
            self._drive(run, store)
        except Exception as exc:  # noqa: BLE001 - shown in the pane, never a traceback
            self._failed(exc)
        finally:
            done.set()

    def _prepare_thread(self) -> None:
        """The training thread's own settings: below the UI's priority, with the threads asked for."""
        from ...training.devices import lower_thread_priority, set_torch_threads

        lower_thread_priority()  # the UI first: a key is painted at once, training takes the rest
        if self.torch_threads:
            set_torch_threads(self.torch_threads)

    def _drive(self, run: Any, store: Any) -> None:
        """Train `run` (a `Run` or a `GroupRun`) to its end, stopped at once if x came first; the store closed after."""
        self._run = run
        if self._stop_requested:
            run.stop()
        try:
            run.run()
        finally:
            store.close()

    def _failed(self, exc: Exception) -> None:
        log.exception("the training thread failed")
        self.post_message(RunEnded(failed(f"{type(exc).__name__}: {exc}{details(runs_root(self.runs_dir))}"), None))

    # -- events from the training thread ---------------------------------------------------

    @on(DeviceFound)
    def device_found(self, message: DeviceFound) -> None:
        if not self.fixed_label:
            self.device_label = message.label
            self._redraw()

    @on(RunStarted)
    def run_started(self, message: RunStarted) -> None:
        self.started = message.event
        if self.state == "starting":
            self.state = "running"
        if not self.fixed_label:
            self.device_label = message.event.device_name
        if message.event.device == "cuda" and not self.fixed_label:
            self._watch_gpu()
        # Everything alive now (torch, the model, the widgets) lives for the whole run: keep it
        # out of the collector, whose full passes otherwise stall both threads for 50-150 ms.
        gc.freeze()
        self._changed()

    @on(RunStep)
    def run_step(self, message: RunStep) -> None:
        self.last_step = message.event
        self.steps, self.step_bands = message.history, message.bands
        self._dirty = True

    @on(RunEpoch)
    def run_epoch(self, message: RunEpoch) -> None:
        self.epochs.append(message.event)
        if message.bands is not None:
            self.epoch_bands.append(message.bands)
        self._dirty = True

    @on(RunWeights)
    def run_weights(self, message: RunWeights) -> None:
        """Keep the latest snapshot (the message goes on to the main screen for the Kernels pane)."""
        self.weights = message.snapshot

    @on(RunEnded)
    def run_ended(self, message: RunEnded) -> None:
        event = message.event
        self.state = event.status
        self.run_id = message.run_id
        self._run = None
        self.message = event.message
        gc.unfreeze()  # the run's leftovers may be collected again, now that nothing is racing the UI
        self._changed()

    def _watch_gpu(self) -> None:
        from ...training.devices import pick

        self._device = pick(self.config.device)
        if self._gpu_timer is None:
            self._gpu_timer = self.set_interval(1.0, self._poll_gpu)

    # -- drawing -----------------------------------------------------------------------------

    def _changed(self) -> None:
        self._redraw()
        self._refresh_enabled()

    def _refresh_enabled(self) -> None:
        # Coarse on purpose: a footer rebuild is a full repaint, so not on every state change.
        enabled = (self.running, self.problem is None)
        if enabled != self._enabled:  # the footer rebuilds itself on a refresh: only when it changes
            self._enabled = enabled
            self.screen.refresh_bindings()

    def _redraw_if_dirty(self) -> None:
        if self._dirty and self._pacer.due():
            self._redraw()

    def _redraw(self) -> None:
        self._dirty = False
        self._redraw_head()
        self._redraw_config()
        self._redraw_progress()
        self._redraw_stats()
        self._redraw_charts()

    def _redraw_config(self) -> None:
        """The settings on one line: two spaces between them, one where two would not fit the pane."""
        c = self.config
        seeds = ("seed ", str(c.seed)) if self.seeds == 1 else ("seeds ", f"{c.seed}..{c.seed + self.seeds - 1}")
        pairs = [
            ("epochs ", str(c.epochs)),
            ("batch ", str(c.batch_size)),
            ("lr ", f"{c.lr:g}"),
            ("", c.optimizer),
            seeds,
        ]
        line = self.query_one("#train-config", Info)
        for gap in ("  ", " "):
            parts: list[tuple[str, str] | str] = []
            for i, (label, value) in enumerate(pairs):
                parts += [(gap + label if i else label, "dim"), value]
            text = Text.assemble(*parts)
            if text.cell_len <= line.content_size.width:
                break
        line.show(text)

    def on_resize(self) -> None:
        self._redraw_config()

    def _status(self) -> Text:
        """What the run is doing, then why it cannot start or how it ended, or the GPU's load."""
        if self.state == "ready" and self.problem:
            return Text(f"✗ cannot train: {self.problem}", style="bold red")
        style = {
            "ready": "dim",
            "starting": "yellow",
            "running": "bold green",
            "paused": "bold yellow",
            "stopping": "yellow",
            "finished": "bold green",
            "interrupted": "yellow",
        }.get(self.state, "bold red")
        text = Text(self.state, style=style)
        if self.group > 1 and self.state != "ready":
            text.append(f"  group of {self.group}", style="bold")
            text.append(": the curves are the mean, the band min..max", style="dim")
            if self.state in ("finished", "interrupted", "diverged", "failed"):
                text.append("\n")
        if self.state == "ready":
            text.append("  t: train", style="dim")
        elif self.state == "starting":
            text.append("  loading data and model…", style="dim")
        elif self.running:
            if self._gpu:
                text.append(f"\n{self._gpu}", style="cyan")
        else:
            best = max((e.val_acc for e in self.epochs), default=None)
            if best is not None:
                text.append(f"  best {'mean ' if self.group > 1 else ''}val acc {best:.1%}")
            if self.run_id and self.show_volatile:
                text.append(f"  run {self.run_id}", style="dim")
            if self.state != "finished" and self.message:
                text.append(f"\n{self.message}", style=style)
        return text

    def _redraw_head(self) -> None:
        head = Text.assemble((self.dataset, "bold"), ("  on ", "dim"), (self.device_label or "…", "bold"), "\n")
        head.append_text(self._status())
        self.query_one("#train-head", Info).show(head)

    def _poll_gpu(self) -> None:
        """Memory and utilisation of the GPU, once a second while a run is going (cheap NVML reads)."""
        if not self.running or self._device is None:
            return
        from ...training.devices import stats, usage_line

        self._gpu = usage_line(stats(self._device))
        self._redraw_head()

    def _redraw_progress(self) -> None:
        epochs = self.started.epochs if self.started else self.config.epochs
        steps = self.started.steps_per_epoch if self.started else 0
        done = self.epochs[-1].epoch if self.epochs else 0
        step = self.last_step.epoch_step if self.last_step else 0
        if self.last_step and self.epochs and self.last_step.epoch <= done:
            step = steps  # the epoch ended: its bar is full until the next step arrives
        self.query_one("#epoch-bar", ProgressBar).update(total=max(epochs, 1), progress=done)
        self.query_one("#step-bar", ProgressBar).update(total=max(steps, 1), progress=step)
        self.query_one("#epoch-count", Info).show(f"{done}/{epochs}")
        self.query_one("#step-count", Info).show(f"{step}/{steps}" if steps else "")

    def _redraw_stats(self) -> None:
        s, e = self.last_step, (self.epochs[-1] if self.epochs else None)
        text = Text()
        text.append("loss ", style="dim")
        text.append(f"{s.loss:.3f}" if s else "-", style=TRAIN_COLOR)
        text.append(" acc ", style="dim")
        text.append(f"{s.acc:.1%}" if s else "-", style=TRAIN_COLOR)
        text.append("  val loss ", style="dim")
        text.append(f"{e.val_loss:.3f}" if e else "-", style=VAL_COLOR)
        text.append(" acc ", style="dim")
        text.append(f"{e.val_acc:.1%}" if e else "-", style=VAL_COLOR)
        text.append("\n")
        if not self.show_volatile:
            text.append("samples/s ·  ETA ·  elapsed ·", style="dim")
        elif s:
            text.append(f"{s.samples_per_s:,.0f}", style="bold")
            text.append(" samples/s  ETA ", style="dim")
            text.append(clock(s.eta) if self.running else "-")
            text.append("  elapsed ", style="dim")
            text.append(clock(s.elapsed))
        else:
            text.append("samples/s -  ETA -", style="dim")
        self.query_one("#train-stats", Info).show(text)

    def _redraw_charts(self) -> None:
        steps_per_epoch = self.started.steps_per_epoch if self.started else 1
        epochs = self.started.epochs if self.started else self.config.epochs
        x_max = max(1, steps_per_epoch * epochs)
        xs = [s.step for s in self.steps]
        val_x = [e.epoch * steps_per_epoch for e in self.epochs]
        step_bands = self.step_bands if len(self.step_bands) == len(self.steps) else ()
        epoch_bands = list(self.epoch_bands) if len(self.epoch_bands) == len(self.epochs) else []

        def spread(bands: list | tuple, k: int) -> tuple[list[float], list[float]] | None:
            """A group's band of metric k (0 loss, 1 acc): the members' lows and highs."""
            return ([b[k].min for b in bands], [b[k].max for b in bands]) if bands else None

        losses = [s.loss for s in self.steps] + [e.val_loss for e in self.epochs]
        accs = [s.acc for s in self.steps] + [e.val_acc for e in self.epochs]
        losses += [v for b in step_bands for v in (b[0].min, b[0].max)]
        losses += [v for b in epoch_bands for v in (b[0].min, b[0].max)]
        self.query_one("#loss-chart", CurveChart).plot(
            (
                Series(xs, [s.loss for s in self.steps], TRAIN_COLOR, "train", spread(step_bands, 0)),
                Series(val_x, [e.val_loss for e in self.epochs], VAL_COLOR, "val", spread(epoch_bands, 0)),
            ),
            x_max,
            y_range(losses, floor=0.0),
        )
        self.query_one("#acc-chart", CurveChart).plot(
            (
                Series(xs, [s.acc for s in self.steps], TRAIN_COLOR, "train", spread(step_bands, 1)),
                Series(val_x, [e.val_acc for e in self.epochs], VAL_COLOR, "val", spread(epoch_bands, 1)),
            ),
            x_max,
            y_range(accs, ceiling=1.0),
        )
