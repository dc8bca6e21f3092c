"""A whole training step captured once as a CUDA graph and replayed: one launch a step.

An eager simple_cnn step is some 40 kernel launches (gather, forward, loss, backward, the
optimizer), each a few microseconds of host time, for a few microseconds of work at batch
512 on an H100: the step is bound by launches, not arithmetic. Replaying a captured graph
launches them all at once. What capture asks for, and how this keeps it:

- Static shapes and addresses: every batch has the same size (the last partial batch of
  an epoch is dropped), its indices are copied into one static index tensor, and the
  gather from the resident dataset happens inside the graph. Loss and the number right
  land in static tensors the trainer's meter copies after each replay (two small kernels).
- Gradients are set to None before capture, so backward makes them in the graph's memory
  pool and every replay writes them afresh instead of accumulating.
- The optimizer's step must be capturable: the private fused kernels keep their step count
  in a device tensor; the torch.optim fallback is built with `capturable=True`.
- No host sync inside the step: nothing reads a value back.
- Warm-up: the first `WARMUP_STEPS` steps run eagerly on a side stream (cuDNN picks its
  algorithms, SGD makes its momentum buffers), as PyTorch's CUDA-graph notes ask; they are
  real steps of the run, not thrown away, and capture records without running, so the
  captured step is replayed at once for its own batch.
- Dropout's generator is registered with the graph, so each replay draws fresh masks.
- Capture is "thread_local": the app's UI thread polls the device's memory meanwhile. It
  runs on the warm-up's side stream, on the data's device (torch's shared capture stream
  belongs to whichever device was current when it was first made).
- AMP needs autocast without its weight cache (`cache_enabled=False`) while capturing.

`StaticStep` is the step itself, on any device (the CPU tests check it against the eager
loop); `GraphStep` adds the warm-up, capture and replay, on CUDA only. If capture fails,
the run goes on eagerly with a note rather than failing.

Why not `torch.compile(mode="reduce-overhead")`: it graphs the model's forward and backward
but leaves the optimizer step (a launch per parameter group, and the loss bookkeeping) outside,
and it pays a compile of tens of seconds per model and batch size, where capture takes one step.
The GPU suite measures both (benchmarks/GPU.md), so figures can overturn this.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from .optimizers import Optimizer

log = logging.getLogger(__name__)

WARMUP_STEPS = 3  # eager steps before capture, as in PyTorch's whole-network capture example


def epoch_batches(n: int, batch_size: int, drop_last: bool) -> list[int]:
    """The size of each batch of an epoch of `n` samples (a batch larger than `n` becomes `n`)."""
    batch = min(batch_size, n)
    full, rest = divmod(n, batch)
    return [batch] * full + ([rest] if rest and not drop_last else [])


class StaticStep:
    """One training step reading its batch through a static index, writing loss and correct count in place."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        batch: int,
        autocast: contextlib.AbstractContextManager,
    ) -> None:
        self.model, self.optimizer, self.x, self.y = model, optimizer, x, y
        self.autocast = autocast
        self.index = torch.zeros(batch, dtype=torch.int64, device=x.device)
        self.loss = torch.zeros((), dtype=torch.float32, device=x.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=x.device)

    def compute(self) -> None:
        """Gather, forward, loss, backward, optimizer step: the work a graph captures."""
        xb, yb = self.x[self.index], self.y[self.index]
        with self.autocast:
            logits = self.model(xb)
            loss = F.cross_entropy(logits, yb)
        loss.backward()
        self.optimizer.step()
        self.loss.copy_(loss.detach())
        self.correct.copy_((logits.argmax(1) == yb).sum())

    def __call__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Train on the samples at `index` (exactly `batch` of them); the step's loss and correct count."""
        self.index.copy_(index)
        self.optimizer.zero_grad()
        self.compute()
        return self.loss, self.correct


class GraphStep(StaticStep):
    """`StaticStep` on CUDA: eager warm-up steps on a side stream, then one capture, then replays."""

    def __init__(
        self,
        model: nn.Module,
        optimizer: Optimizer,
        x: torch.Tensor,
        y: torch.Tensor,
        batch: int,
        autocast: contextlib.AbstractContextManager,
        dropout: torch.Generator | None,
        on_fallback: Callable[[str], None],
    ) -> None:
        super().__init__(model, optimizer, x, y, batch, autocast)
        self.dropout = dropout
        self.on_fallback = on_fallback
        self.graph: torch.cuda.CUDAGraph | None = None
        self.eager = False  # capture failed: every step from then on runs as StaticStep does
        self.warmed = 0
        self.side = torch.cuda.Stream(device=x.device)

    def __call__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # The data's device made current: replay, capture and its synchronize act on the current
        # device, which on cuda:1 is not the data's unless set (in this thread).
        with torch.cuda.device(self.x.device):
            self.index.copy_(index)
            if self.graph is not None:
                self.graph.replay()
            elif self.eager:
                self.optimizer.zero_grad()
                self.compute()
            elif self.warmed < WARMUP_STEPS:
                self._warm_up()
            else:
                self._capture()
        return self.loss, self.correct

    def _warm_up(self) -> None:
        """One eager step on the side stream, ordered after the index copy and before what follows."""
        current = torch.cuda.current_stream(self.x.device)
        self.side.wait_stream(current)
        with torch.cuda.stream(self.side):
            self.optimizer.zero_grad()
            self.compute()
        current.wait_stream(self.side)
        self.warmed += 1

    def _capture(self) -> None:
        """Record the step (which runs nothing), then replay it for this batch; eager from now on if that fails."""
        graph = torch.cuda.CUDAGraph()
        try:
            if self.dropout is not None:
                graph.register_generator_state(self.dropout)
            self.optimizer.zero_grad()  # gradients made inside the capture live in the graph's pool
            with torch.cuda.graph(graph, stream=self.side, capture_error_mode="thread_local"):
                self.compute()
        except Exception as exc:  # noqa: BLE001 - a step that cannot be captured still trains, eagerly
            log.info("CUDA graph capture failed", exc_info=True)
            reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
            self.on_fallback(f"cuda graphs unavailable ({reason}); eager steps")
            self.eager = True
            self.optimizer.zero_grad()
            self.compute()
            return
        self.graph = graph
        graph.replay()
