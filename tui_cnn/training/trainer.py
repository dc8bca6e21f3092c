"""The training loop: one `Trainer` per run, reporting through small events.

In the spirit of airbench and nanoGPT: the dataset is resident on the device as one
tensor, each epoch is a seeded permutation sliced into batches, and the loss and
accuracy are summed on the device and read only when a `Step` is due (a few times a
second), so the hot loop never waits for the device. Every way a run can end (done,
diverged, stopped, out of memory, any other exception) becomes exactly one `Ended`;
`run` never raises for a training fault.

A run that cannot start (unknown dataset, unavailable device, an untrainable spec)
emits only its `Ended` (status "failed"), with no `Started` before it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..architecture.budget import budget_of, check_trainable
from ..architecture.build import build_model
from ..architecture.init import initialise
from ..architecture.spec import Spec
from . import optimizers
from .config import TrainConfig
from .data import DataError, Dataset, load
from .devices import DeviceError, device_name, pick
from .events import Callback, Checkpoint, Ended, EpochEnd, Event, Started, Status, Step, Weights
from .generators import run_generators, seed_dropout
from .graphs import GraphStep, epoch_batches

log = logging.getLogger(__name__)

EVAL_BATCH = 2000  # validation needs no gradients, so big batches are just faster
PAUSE_POLL = 0.1  # seconds between stop checks while paused


class _Stopped(Exception):
    """Raised inside the loop when stop() was called; becomes status "interrupted"."""


def dataset_for(spec: Spec, dataset: Dataset | str, data_dir: str | None, device: torch.device) -> Dataset:
    """`dataset` on `device` (loaded first if it is a name), or ValueError saying why `spec` cannot train on it."""
    if isinstance(dataset, str):
        dataset = load(dataset, data_dir, device=device)
    elif dataset.device != device:
        dataset = dataset.to(device)
    problem = check_trainable(budget_of(spec, dataset.input_shape), dataset.num_classes)
    if problem:
        raise ValueError(problem)
    return dataset


def started(
    arch: str,
    spec: Spec,
    params: int,
    data: Dataset,
    device: torch.device,
    config: TrainConfig,
    steps_per_epoch: int,
    settings: dict[str, Any],
) -> Started:
    """The `Started` event of one run, a solo one or a group's member (`settings`: its config, as recorded)."""
    return Started(
        arch=arch,
        line=spec.line(),
        params=params,
        dataset=data.name,
        device=device.type,
        device_name=device_name(device),
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        train_size=len(data.x_train),
        val_size=len(data.x_val),
        config=settings,
    )


class Controls:
    """Pause, resume and stop from any thread; the training loop checks between steps.

    Shared by the solo trainer and the group trainer: the clocks leave paused time out.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()  # clear while paused
        self._running.set()
        self._start = 0.0
        self._paused_seconds = 0.0

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused loop so it sees the stop

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def _elapsed(self) -> float:
        return time.perf_counter() - self._start - self._paused_seconds

    def _check_control(self) -> None:
        """Between steps: honour a stop, wait out a pause (which the clocks do not count)."""
        if self._stop.is_set():
            raise _Stopped
        if not self._running.is_set():
            began = time.perf_counter()
            while not self._running.wait(PAUSE_POLL):
                pass
            self._paused_seconds += time.perf_counter() - began
            if self._stop.is_set():
                raise _Stopped

    def _active(self, clock: tuple[float, float]) -> float:
        """Seconds since `clock` (a start time and the paused total then), pauses left out."""
        began, paused_before = clock
        return time.perf_counter() - began - (self._paused_seconds - paused_before)


class _Diverged(Exception):
    """The loss became nan or inf; the message names where."""


class _NotStarted(Exception):
    """The run could not start: a bad config, dataset, device or spec."""


def _channels_last(spec: Spec, device: torch.device) -> bool:
    """Whether the CPU's convolutions run faster on this model in channels-last layout.

    Measured on 2 cores at batch 64: simple_cnn 1.2x, lenet5 1.15x, pool_cnn 3x faster;
    with batch norm 2.8x slower (its CPU backward is slow in that layout), so not then.
    """
    kinds = {layer.kind for layer in spec.layers}
    return device.type == "cpu" and "conv" in kinds and "bn" not in kinds


def _cpu_copy(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", memory_format=torch.contiguous_format, copy=True) for k, v in tensors.items()}


# A mean cross-entropy this big means the weights blew up: chance is ln 10 = 2.3 and a run that
# learns never comes near, while one that blew up can creep along at 1e23 without a nan.
DIVERGED_LOSS = 1e6


def _accumulator(device: torch.device) -> torch.dtype:
    """float64 for loss sums: float32 sums of finite losses near 1e38 overflow (MPS has no float64)."""
    return torch.float32 if device.type == "mps" else torch.float64


def _diverged(loss: float) -> bool:
    return not math.isfinite(loss) or loss > DIVERGED_LOSS


def _cpu_tree(value: Any) -> Any:
    """An optimizer's state dict (dicts and lists of tensors and numbers) copied to the CPU."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", memory_format=torch.contiguous_format, copy=True)
    if isinstance(value, dict):
        return {k: _cpu_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cpu_tree(v) for v in value]
    return value


class _Meter:
    """One epoch's train loss and accuracy, kept on the device and read only when reporting.

    Each step's mean loss goes into its own float64 slot (one kernel, like accumulating
    would), weighted by its batch size only when read, so a read costs one sync, no sum
    of finite losses overflows, and a nan, inf or blown-up loss can be traced to its step.
    """

    def __init__(self, device: torch.device, sizes: list[int]) -> None:
        dtype = _accumulator(device)
        self.losses = torch.zeros(len(sizes), dtype=dtype, device=device)  # per step: mean loss
        self.sizes = torch.tensor(sizes, dtype=dtype).to(device)  # a copy that waits for the device: once a run
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.reset()

    def reset(self) -> None:
        """Start a new epoch (on the device: two fills, no sync)."""
        self.losses.zero_()
        self.correct.zero_()
        self.steps = self.seen = 0
        self._read = (0, 0.0, 0.0)  # seen, loss sum, correct at the last read

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.add_sums(loss.detach(), (logits.argmax(1) == y).sum(), len(y))

    def add_sums(self, loss: torch.Tensor, correct: torch.Tensor, size: int) -> None:
        """A step's mean loss and number right, both still on the device."""
        self.losses[self.steps].copy_(loss)
        self.correct.add_(correct)
        self.steps += 1
        self.seen += size

    def read(self) -> tuple[float, float]:
        """Mean loss and accuracy since the last read (nan or inf if any step's loss was)."""
        steps = self.steps
        loss = torch.dot(self.losses[:steps], self.sizes[:steps]).item()
        seen, correct = self.seen, float(self.correct.item())
        last_seen, last_loss, last_correct = self._read
        self._read = (seen, loss, correct)
        count = seen - last_seen
        return (loss - last_loss) / count, (correct - last_correct) / count

    def first_bad(self) -> tuple[int, float]:
        """The 0-based step of this epoch whose loss first diverged (nan, inf or huge), and that loss.

        Never fails: if no step diverged on its own, the step with the largest loss.
        """
        losses = self.losses[: self.steps].double().cpu()
        bad = ~torch.isfinite(losses) | (losses > DIVERGED_LOSS)
        index = int(bad.nonzero()[0]) if bool(bad.any()) else int(losses.argmax())
        return index, float(losses[index])

    def means(self) -> tuple[float, float]:
        """Mean loss and accuracy over everything up to the last read."""
        seen, loss, correct = self._read
        return loss / seen, correct / seen


class Trainer(Controls):
    """Trains `spec` on `dataset` in the calling thread; pause/resume/stop from any thread.

    One run per trainer. After `run` returns, `model` stays (on its device) for
    inspection; the optimizer state, gradients and batches are already released.
    With `resume`, the run continues after that checkpoint's epoch up to `config.epochs`.
    """

    def __init__(
        self,
        spec: Spec,
        dataset: Dataset | str,
        config: TrainConfig,
        on_event: Callback | None = None,
        *,
        arch: str | None = None,
        data_dir: Path | str | None = None,
        resume: Checkpoint | None = None,
    ) -> None:
        self.spec = spec
        self._resume = resume
        self.config = config
        self.arch = arch or (spec.name if spec.name != "custom" else spec.line())
        self.model: nn.Sequential | None = None
        self._dataset = dataset
        self._data_dir = data_dir
        self._on_event = on_event
        Controls.__init__(self)
        # Progress, read by _ended whichever way the run finishes.
        self._train_seconds = 0.0
        self._samples = 0
        self._step = 0
        self._epoch = 0
        self._epochs_done = 0
        self._best: float | None = None
        self._final: float | None = None
        self._train_loss: float | None = None
        self._notes: list[str] = []

    # -- the run --------------------------------------------------------------------------

    def run(self) -> Ended:
        """Train to the end (or a stop); returns the one `Ended`, which was also emitted."""
        self._start = time.perf_counter()
        status: Status = "finished"
        try:
            self._train()
            message = f"finished {self._epochs_done} epoch{'s' if self._epochs_done != 1 else ''}"
            if self._notes:
                message += f" ({'; '.join(self._notes)})"
        except (_Stopped, KeyboardInterrupt):
            status, message = "interrupted", f"stopped at step {self._step} (epoch {max(self._epoch, 1)})"
        except _Diverged as exc:
            status, message = "diverged", str(exc)
        except _NotStarted as exc:
            status, message = "failed", str(exc)
        except torch.cuda.OutOfMemoryError as exc:
            status, message = "failed", f"out of memory: {exc}; try a smaller batch size or model"
        except Exception as exc:  # noqa: BLE001 - every training fault becomes a "failed" run
            if isinstance(exc, RuntimeError) and "out of memory" in str(exc):
                status, message = "failed", f"out of memory: {exc}; try a smaller batch size or model"
            else:
                log.info("training failed", exc_info=True)  # the message says what; the log says where
                status, message = "failed", f"{type(exc).__name__}: {exc}"
        ended = self._ended(status, message)
        self._emit(ended)
        return ended

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def _ended(self, status: Status, message: str) -> Ended:
        state = None
        if self.model is not None:
            self.model.zero_grad(set_to_none=True)  # the gradients are the optimizer's business: free them
            try:
                state = _cpu_copy(self.model.state_dict())
            except Exception:  # noqa: BLE001 - a broken device must not turn one Ended into a traceback
                log.info("could not copy the final weights", exc_info=True)
                message += "; the final weights could not be copied"
        return Ended(
            status=status,
            message=message,
            epochs_done=self._epochs_done,
            best_val_acc=self._best,
            final_val_acc=self._final,
            train_loss=self._train_loss,
            seconds=self._elapsed(),
            samples_per_s=self._samples / self._train_seconds if self._train_seconds > 0 else 0.0,
            state_dict=state,
        )

    def _prepare(self) -> tuple[Dataset, torch.device]:
        """The data on the device, or ValueError saying why the run cannot start."""
        problem = self.config.validate()
        if problem:
            raise ValueError(problem)
        device = pick(self.config.device)
        return dataset_for(self.spec, self._dataset, self._data_dir, device), device

    def _weights(self) -> Weights:
        """A CPU copy of the whole state dict; the conv, local and linear weights by layer index point into it."""
        assert self.model is not None
        state = _cpu_copy(self.model.state_dict())
        kinds = enumerate(layer.kind for layer in self.spec.layers)
        tensors = {i: state[f"{i}.weight"] for i, kind in kinds if kind in ("conv", "local", "linear")}
        return Weights(self._step, self._epoch, tensors, state)

    def _train(self) -> None:
        config = self.config
        try:
            data, device = self._prepare()
        except (ValueError, DataError, DeviceError) as exc:
            raise _NotStarted(str(exc)) from exc
        spec = dataclasses.replace(self.spec, input_shape=data.input_shape)
        # The run's own generators (see generators.py): nothing here seeds or draws from torch's global one.
        init, dropout, generator = run_generators(config.seed, device)
        with torch.device("meta"):  # built without drawing; `init` then draws as PyTorch's init would
            model = build_model(spec)
        self.model = model = seed_dropout(initialise(model.to_empty(device="cpu"), init).to(device), dropout)
        if _channels_last(spec, device):
            model.to(memory_format=torch.channels_last)
        graphs = self._graphs(device)
        optimizer = optimizers.make(
            config.optimizer, model.parameters(), device, config.lr, config.weight_decay, capturable=graphs
        )
        _, fallback = optimizers.check(config.optimizer, device)
        if fallback:
            self._notes.append(fallback)
        first_epoch = self._restore(model, optimizer, generator, dropout) if self._resume else 1
        forward = self._forward(model, device)
        autocast = self._autocast(device, cache=not graphs)

        x, y = data.x_train, data.y_train
        n = len(x)
        sizes = epoch_batches(n, config.batch_size, config.drop_last or graphs)
        batch, steps_per_epoch = sizes[0], len(sizes)
        total_steps = steps_per_epoch * config.epochs
        meter = _Meter(device, sizes)
        uses_dropout = any(layer.kind == "dropout" for layer in self.spec.layers)
        step = (
            GraphStep(model, optimizer, x, y, batch, autocast, dropout if uses_dropout else None, self._notes.append)
            if graphs
            else None
        )
        params = sum(p.numel() for p in model.parameters())
        settings = {**config.to_dict(), "notes": list(self._notes)}
        self._emit(started(self.arch, self.spec, params, data, device, config, steps_per_epoch, settings))
        next_weights = time.perf_counter() + config.weights_every
        for epoch in range(first_epoch, config.epochs + 1):
            self._epoch = epoch
            clock = (time.perf_counter(), self._paused_seconds)
            meter.reset()
            model.train()
            order = torch.randperm(n, generator=generator).to(device, non_blocking=True)
            next_report = time.perf_counter() + config.report_every
            for i in range(steps_per_epoch):
                self._check_control()
                index = order[i * batch : (i + 1) * batch]
                if step is not None:
                    meter.add_sums(*step(index), batch)
                else:
                    xb, yb = x[index], y[index]
                    with autocast:
                        logits = forward(xb)
                        loss = F.cross_entropy(logits, yb)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    meter.add(loss, logits, yb)
                self._step += 1
                now = time.perf_counter()
                if now >= next_report or i == steps_per_epoch - 1:
                    self._emit(self._step_event(meter, epoch, i + 1, self._active(clock), total_steps))
                    next_report = time.perf_counter() + config.report_every
                if config.weights_every and now >= next_weights:
                    self._emit(self._weights())
                    next_weights = time.perf_counter() + config.weights_every
            train_time = self._active(clock)
            self._samples += meter.seen
            self._train_seconds += train_time
            train_loss, train_acc = meter.means()
            self._train_loss = train_loss
            val_loss, val_acc = self._evaluate(forward, autocast, data)
            if _diverged(val_loss):
                raise _Diverged(f"validation loss became {val_loss:.4g} after epoch {epoch}; {self._lower_lr()}")
            self._epochs_done, self._final = epoch, val_acc
            self._best = val_acc if self._best is None else max(self._best, val_acc)
            throughput = meter.seen / train_time if train_time > 0 else 0.0
            self._emit(EpochEnd(epoch, train_loss, train_acc, val_loss, val_acc, self._active(clock), throughput))
            if self._on_event is not None:
                self._emit(self._checkpoint(model, optimizer, generator, dropout))
        self._emit(self._weights())

    def _checkpoint(
        self, model: nn.Module, optimizer: optimizers.Optimizer, generator: torch.Generator, dropout: torch.Generator
    ) -> Checkpoint:
        return Checkpoint(
            self._epochs_done,
            self._step,
            self._best,
            _cpu_copy(model.state_dict()),
            _cpu_tree(optimizer.state_dict()),
            generator.get_state(),
            dropout.get_state(),
        )

    def _restore(
        self, model: nn.Module, optimizer: optimizers.Optimizer, generator: torch.Generator, dropout: torch.Generator
    ) -> int:
        """The resumed checkpoint's weights, optimizer state, batch order and dropout masks; returns the next epoch."""
        saved = self._resume
        assert saved is not None
        try:
            model.load_state_dict(saved.model)
            optimizer.load_state_dict(saved.optimizer)
            generator.set_state(saved.generator)
            if saved.dropout is not None:
                dropout.set_state(saved.dropout)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise _NotStarted(f"the checkpoint does not fit this run: {str(exc).splitlines()[0][:200]}") from exc
        self._step, self._epochs_done, self._best = saved.step, saved.epoch, saved.best_val_acc
        return saved.epoch + 1

    def _step_event(self, meter: _Meter, epoch: int, epoch_step: int, epoch_time: float, total_steps: int) -> Step:
        """Read the device sums (the one sync) into a Step; raises _Diverged on nan, inf or a blown-up loss."""
        loss, acc = meter.read()
        if _diverged(loss):
            index, bad = meter.first_bad()
            step = self._step - meter.steps + index + 1
            raise _Diverged(f"loss became {bad:.4g} at step {step} (epoch {epoch}); {self._lower_lr()}")
        elapsed, done = self._elapsed(), self._step / total_steps
        return Step(
            step=self._step,
            epoch=epoch,
            epoch_step=epoch_step,
            loss=loss,
            acc=acc,
            samples_per_s=meter.seen / epoch_time if epoch_time > 0 else 0.0,
            elapsed=elapsed,
            eta=elapsed * (1 - done) / done,
        )

    def _lower_lr(self) -> str:
        return f"try a lower learning rate (now {self.config.lr:g})"

    def _forward(self, model: nn.Module, device: torch.device) -> Any:
        """The model, compiled on CUDA when asked (elsewhere the compile time outweighs the gain)."""
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        if not self.config.compile:
            return model
        if device.type != "cuda":
            self._notes.append(f"compile ignored on {device.type}")
            return model
        return torch.compile(model)

    def _graphs(self, device: torch.device) -> bool:
        """Whether the step runs as a CUDA graph: asked for, and on CUDA (elsewhere a note, as for amp)."""
        if not self.config.cuda_graphs:
            return False
        if device.type != "cuda":
            self._notes.append(f"cuda graphs ignored on {device.type}")
            return False
        return True

    def _autocast(self, device: torch.device, cache: bool = True) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA when asked; `cache=False` for a captured step (a graph cannot keep its casts)."""
        if not self.config.amp:
            return contextlib.nullcontext()
        if device.type != "cuda":
            self._notes.append(f"amp ignored on {device.type}")
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=cache)

    @torch.inference_mode()
    def _evaluate(
        self, forward: Any, autocast: contextlib.AbstractContextManager, data: Dataset
    ) -> tuple[float, float]:
        """Mean loss and accuracy on the validation split, one sync at the end."""
        assert self.model is not None
        self.model.eval()
        loss_sum = torch.zeros((), dtype=_accumulator(data.device), device=data.device)
        correct = torch.zeros((), dtype=torch.int64, device=data.device)
        for start in range(0, len(data.x_val), EVAL_BATCH):
            xb, yb = data.x_val[start : start + EVAL_BATCH], data.y_val[start : start + EVAL_BATCH]
            with autocast:
                logits = forward(xb)
            loss_sum += F.cross_entropy(logits.float(), yb, reduction="none").sum(dtype=loss_sum.dtype)
            correct += (logits.argmax(1) == yb).sum()
        count = len(data.x_val)
        return loss_sum.item() / count, correct.item() / count
