"""Many members of one architecture trained in one step: different seeds, or different learning rates.

A tiny model leaves most of a machine idle: simple_cnn's step at batch 64 is mostly per-call
overhead. So a group stacks its members' parameters and runs them as ONE model: convolutions
become one grouped convolution (`groups=N`, the members' channels side by side), linear layers
one batched matmul (`baddbmm`), and the optimizer one fused kernel call on the stacked tensors
(on the live members' slices, one call per learning rate, once they differ). Activations are laid out per member so that
pooling, batch norm, dropout and activations act on each member alone: images as
(batch, N x C, H, W), flat features as (N, batch, F).

The contract is equivalence: member k trained with seed s ends with the weights of a solo
`Trainer` run with seed s, to float rounding. Each member starts from `initial_model(spec, s)`,
draws its own batch order (`randperm` from a CPU generator seeded with s, one an epoch) and its
own dropout masks (`dropout_generator(s)`, see `dropout_mask`). Members whose loss blows up end
as diverged on their own: their slices leave the optimizer and the others go on.

Chosen over `torch.func` (`stack_module_state` + `functional_call` + `vmap`, whose vmapped conv
is a grouped conv too): whole steps, 8 members, one thread, on a shared 2-core CPU, measured side
by side: simple_cnn 10.7 ms grouped vs 11.6 ms vmapped (1.50x and 1.38x of 8 solo steps), mlp
2.3 vs 3.1 ms; and vmap's random ops cannot draw member k's dropout from member k's generator.
Each stacked conv runs the way `tune` timed fastest on this machine (`group_conv`):
channels-last grouped convolutions were 1.6x slower than contiguous ones on that EPYC, and
1.5x faster on a 2-core Xeon with AVX-512, so neither is fixed.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..architecture.budget import budget_of
from ..architecture.init import initial_model
from ..architecture.local import LocallyConnected2d
from ..architecture.spec import Spec
from ..training import optimizers
from ..training.config import TrainConfig
from ..training.data import DataError, Dataset
from ..training.devices import DeviceError, pick
from ..training.events import Ended, EpochEnd, Event, Status, Step, Weights
from ..training.trainer import (
    DIVERGED_LOSS,
    EVAL_BATCH,
    Controls,
    _accumulator,
    _channels_last,
    _cpu_copy,
    _diverged,
    _Stopped,
    dataset_for,
    started,
)
from . import group_conv

log = logging.getLogger(__name__)

MemberCallback = Callable[[int, Event], None]  # (member index, event)

DROPOUT_SEED_OFFSET = 0x9E3779B97F4A7C15  # any fixed odd constant: keeps the dropout stream apart from init's
BACKWARD_FACTOR = 3  # activations kept for backward, their gradients and the workspace: ~3x the forward's
PARAM_COPIES = 4  # parameters, gradients and Adam's two moments
CPU_SHARE = 4  # a group may plan on a quarter of the machine's physical memory
VARYING = ("seed", "lr")  # what may differ between the members of one group


def dropout_seed(seed: int) -> int:
    """The seed of a run's dropout generator, given the run's seed."""
    return (seed + DROPOUT_SEED_OFFSET) % 2**64


def dropout_generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator a run with `seed` draws all its dropout masks from, on the model's device."""
    return torch.Generator(device=device).manual_seed(dropout_seed(seed))


def dropout_mask(like: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """A dropout mask for a tensor shaped and laid out as `like`: Bernoulli(1 - p), divided by 1 - p.

    The one call both a solo run and a group make, so their masks match: `bernoulli_` fills
    in memory order, so a channels-last activation needs a channels-last `like`. A solo run
    matches a group member by giving each dropout layer, in a training forward pass, `x *
    dropout_mask(x, p, dropout_generator(seed, device))`, one generator shared by its layers.
    """
    return torch.empty_like(like).bernoulli_(1 - p, generator=generator).div_(1 - p)


# -- the stacked layers ---------------------------------------------------------------------------


class _Conv(nn.Module):
    """N convolutions over (batch, N x C_in, H, W): one grouped convolution, unless `tune` found a faster way."""

    def __init__(self, convs: Sequence[nn.Conv2d]) -> None:
        super().__init__()
        first = convs[0]
        self.stride, self.padding = first.stride, first.padding
        self.mode = "grouped"  # see group_conv
        self.weight = nn.Parameter(torch.stack([c.weight.detach() for c in convs]))  # (N, out, in, k, k)
        has_bias = first.bias is not None
        self.bias = nn.Parameter(torch.stack([c.bias.detach() for c in convs])) if has_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return group_conv.conv(self.mode, x, self.weight, self.bias, self.stride, self.padding)


class _Local(nn.Module):
    """N locally connected layers as one batched matmul over members x positions, on (batch, N x C_in, H, W)."""

    def __init__(self, locals_: Sequence[LocallyConnected2d]) -> None:
        super().__init__()
        first = locals_[0]
        self.kernel_size, self.stride, self.padding = first.kernel_size, first.stride, first.padding
        self.out_size = first.out_size
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in locals_]))  # (N, L, out, C*k*k)
        has_bias = first.bias is not None
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in locals_])) if has_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, positions, out, fan_in = self.weight.shape
        b = x.shape[0]
        patches = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # b, N*C*k*k, L
        patches = patches.view(b, n, fan_in, positions).permute(1, 3, 2, 0).reshape(n * positions, fan_in, b)
        y = torch.bmm(self.weight.reshape(n * positions, out, fan_in), patches)  # N*L, out, b
        y = y.view(n, positions, out, b).permute(3, 0, 2, 1).reshape(b, n * out, *self.out_size)
        return y + self.bias.reshape(n * out, *self.out_size) if self.bias is not None else y


class _Linear(nn.Module):
    """N linear layers as one batched matmul over (N, batch, F_in).

    Computed as W x^T and handed on transposed, so that the weight's gradient comes out in
    the weight's own layout: from x W^T it came transposed, and autograd copied it every step
    (mlp, 8 members, two threads: 0.75 against 0.54 ms a forward and backward).
    """

    def __init__(self, linears: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.stack([m.weight.detach() for m in linears]))  # (N, out, in)
        has_bias = linears[0].bias is not None
        self.bias = nn.Parameter(torch.stack([m.bias.detach() for m in linears])) if has_bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xt = x.transpose(1, 2)
        if self.bias is None:
            return torch.bmm(self.weight, xt).transpose(1, 2)
        return torch.baddbmm(self.bias.unsqueeze(2), self.weight, xt).transpose(1, 2)


class _Flatten(nn.Module):
    """Each member's C x H x W to C*H*W features: images (batch, N x C, H, W) to (N, batch, F)."""

    def __init__(self, members: int) -> None:
        super().__init__()
        self.members = members

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:  # the input itself, gathered as (N, batch, C, H, W)
            return x.flatten(2)
        if x.dim() == 3:  # already flat
            return x
        return x.reshape(x.shape[0], self.members, -1).transpose(0, 1)


class _BatchNorm(nn.Module):
    """N batch norms: per member and channel (images) or feature (flat), with their running statistics."""

    def __init__(self, norms: Sequence[nn.modules.batchnorm._BatchNorm]) -> None:
        super().__init__()
        first = norms[0]
        self.eps, self.momentum = first.eps, first.momentum
        self.weight = nn.Parameter(torch.stack([b.weight.detach() for b in norms]))  # (N, C)
        self.bias = nn.Parameter(torch.stack([b.bias.detach() for b in norms]))
        self.register_buffer("running_mean", torch.stack([b.running_mean for b in norms]))
        self.register_buffer("running_var", torch.stack([b.running_var for b in norms]))
        self.register_buffer("num_batches_tracked", first.num_batches_tracked.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.num_batches_tracked.add_(1)

        def norm(v: torch.Tensor) -> torch.Tensor:
            mean, var = self.running_mean.view(-1), self.running_var.view(-1)  # views: updated in place
            weight, bias = self.weight.reshape(-1), self.bias.reshape(-1)
            return F.batch_norm(v, mean, var, weight, bias, self.training, self.momentum, self.eps)

        if x.dim() == 4:
            return norm(x)
        n, b, f = x.shape  # flat: members side by side as features, then back
        return norm(x.transpose(0, 1).reshape(b, n * f)).reshape(b, n, f).transpose(0, 1)


class _Dropout(nn.Module):
    """N dropouts: member k's mask drawn from member k's generator exactly as its solo run draws it."""

    def __init__(self, p: float, generators: Sequence[torch.Generator], channels_last: bool) -> None:
        super().__init__()
        self.p, self.generators, self.channels_last = p, generators, channels_last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0 or x.numel() == 0:
            return x
        n = len(self.generators)
        if x.dim() == 4:
            b, nc, h, w = x.shape
            # In the solo runs' layout, whatever the group's own: bernoulli_ fills in memory order.
            fmt = torch.channels_last if self.channels_last else torch.contiguous_format
            like = torch.empty((b, nc // n, h, w), device=x.device, memory_format=fmt)
            mask = torch.cat([dropout_mask(like, self.p, g) for g in self.generators], dim=1)
        else:
            like = torch.empty(x.shape[1:], device=x.device)
            mask = torch.stack([dropout_mask(like, self.p, g) for g in self.generators])
        return x * mask


def _stack_layer(layers: list[nn.Module], generators: Sequence[torch.Generator], channels_last: bool) -> nn.Module:
    first = layers[0]
    if isinstance(first, nn.Conv2d):
        return _Conv(layers)  # type: ignore[arg-type]
    if isinstance(first, nn.Linear):
        return _Linear(layers)  # type: ignore[arg-type]
    if isinstance(first, LocallyConnected2d):
        return _Local(layers)  # type: ignore[arg-type]
    if isinstance(first, nn.modules.batchnorm._BatchNorm):
        return _BatchNorm(layers)  # type: ignore[arg-type]
    if isinstance(first, nn.Dropout):
        return _Dropout(first.p, generators, channels_last)
    if isinstance(first, nn.Flatten):
        return _Flatten(len(layers))
    return first  # activations and pooling act per channel, so per member in the image layout


def stack(
    models: Sequence[nn.Sequential], dropout_generators: Sequence[torch.Generator], channels_last: bool = False
) -> nn.Sequential:
    """Solo models of one architecture as one stacked model (parameters copied, shape (N, ...)).

    Member k's dropout masks come from `dropout_generators[k]`, drawn channels-last for image
    activations when `channels_last` says the solo runs' are (train._channels_last), though the
    group itself runs contiguous.
    """
    stacked = [_stack_layer([m[i] for m in models], dropout_generators, channels_last) for i in range(len(models[0]))]
    return nn.Sequential(*stacked)


def tune(model: nn.Sequential, sample: torch.Tensor, channels_last: bool) -> None:
    """Give each stacked conv the fastest of `group_conv`'s ways for its input (timed once per geometry).

    Layer by layer, each timed on an input laid out as the modes chosen before it leave it.
    Channels-last is a candidate only where the solo runs use it (`channels_last`): with batch
    norm, say, that layout's slow backward would not show in a conv timed alone.
    """
    modes = group_conv.MODES if channels_last else tuple(m for m in group_conv.MODES if m != "channels_last")
    training = model.training
    model.eval()  # no batch-norm statistics and no dropout draws spent on the look
    try:
        x = sample
        for i, layer in enumerate(model):
            if isinstance(layer, _Conv):
                layer.mode = group_conv.fastest(
                    tuple(x.shape),
                    tuple(layer.weight.shape),
                    layer.bias is not None,
                    layer.stride,
                    layer.padding,
                    any(p.requires_grad for earlier in model[:i] for p in earlier.parameters()),
                    layer.weight.device,
                    group_conv.is_channels_last(x),
                    modes,
                )
            with torch.no_grad():
                x = layer(x)
    finally:
        model.train(training)


def member_state(model: nn.Sequential, member: int) -> dict[str, torch.Tensor]:
    """Member `member`'s state dict, with the keys and shapes of its solo model's (CPU copies)."""
    state: dict[str, torch.Tensor] = {}
    for name, tensor in model.state_dict().items():
        state[name] = tensor if name.endswith("num_batches_tracked") else tensor[member]
    return _cpu_copy(state)


def classes_first(logits: torch.Tensor) -> torch.Tensor:
    """The group's logits (N, b, classes) as (N, classes, b), contiguous: the layout the loss wants.

    Cross-entropy over a last dimension of 10 classes was the slow way: 512 x 10 logits took
    46 us, against 12 us classes-first (2-core Xeon). A stacked linear layer's output is this
    layout already.
    """
    return logits.transpose(1, 2).contiguous()


def predictions(scores: torch.Tensor) -> torch.Tensor:
    """Each member's predicted classes (N, b) from `classes_first` scores: the first highest, as argmax.

    `max(1).indices`, not `argmax(1)`: on (8, 10, 64) scores argmax took 63 us, max 6 us.
    """
    return scores.max(1).indices


def _flat_input(spec: Spec) -> bool:
    return bool(spec.layers) and spec.layers[0].kind == "flatten"


def _gather(
    x: torch.Tensor, y: torch.Tensor, index: torch.Tensor, flat: bool, out: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's batch, from `index` (N, b): images (b, N x C, H, W), or (N, b, C, H, W) for a flatten.

    `index_select` on the flat index, from the images viewed as rows, into `out` (at least N x
    b rows) when given: the training loop reuses one buffer, since a fresh 1.6 MB batch each
    step cost 28 of the gather's 80 us (512 digits, 2-core Xeon). Indexing with the (N, b)
    tensor itself took 0.67 ms of a 4.2 ms step (mlp, 8 members, one thread, EPYC).
    """
    n, b = index.shape
    labels = y.index_select(0, index.reshape(-1)).view(n, b)
    rows = x.view(len(x), -1)
    order = index.reshape(-1) if flat else index.t().reshape(-1)
    picked = rows.index_select(0, order) if out is None else torch.index_select(rows, 0, order, out=out[: n * b])
    if flat:
        return picked.view(n, b, *x.shape[1:]), labels
    c, h, w = x.shape[1:]
    return picked.view(b, n * c, h, w), labels


# -- the optimizer --------------------------------------------------------------------------------


class _GroupOptimizer:
    """torch's fused Adam, AdamW or SGD kernel over the stacked parameters: one call a step.

    Each member keeps its own step counts and moments (slices of stacked state). While every
    member trains at one learning rate the kernel runs on the whole stacked tensors; otherwise
    on the live members' slices, one call per learning rate, so a member that diverged just
    leaves the lists and the others are stepped exactly as alone. The kernels are elementwise:
    both ways give the same numbers.

    The kernels are private torch API: where `optimizers.check` finds them unusable (missing,
    raising or wrong on this torch), each live member's slices are stepped with public tensor
    ops instead, torch.optim's formulas one member at a time: slower, the same numbers.
    """

    def __init__(self, name: str, params: list[torch.Tensor], lrs: Sequence[float], weight_decay: float) -> None:
        self.name, self.lrs, self.weight_decay = name, list(lrs), weight_decay
        self.private = bool(params) and optimizers.check(name, params[0].device)[0] == "private"
        self.params = [p for p in params if p.requires_grad]
        self.live = set(range(len(self.lrs)))
        members = range(len(self.lrs))
        self._state = {"params": [p.detach() for p in self.params]}
        if name in ("adam", "adamw"):
            self.kernel = torch._fused_adamw_ if name == "adamw" else torch._fused_adam_
            self._state["avgs"] = [torch.zeros_like(p) for p in self.params]
            self._state["sqs"] = [torch.zeros_like(p) for p in self.params]
            device = self.params[0].device
            self._counts = torch.zeros(len(self.lrs), len(self.params), dtype=torch.float32, device=device)
            self._shared_steps = [torch.zeros((), dtype=torch.float32, device=device) for _ in self.params]
            self._steps = [list(self._counts[k].unbind()) for k in members]
        else:
            self._state["buffers"] = [torch.zeros_like(p) for p in self.params]
            self._first = True
        self._views = {key: [[t[k] for t in full] for k in members] for key, full in self._state.items()}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def freeze(self, member: int) -> None:
        self.live.discard(member)

    @torch.no_grad()
    def step(self) -> None:
        grads = [p.grad for p in self.params]
        if not self.private:
            self._public_step(grads)
        elif len(self.live) == len(self.lrs) and len(set(self.lrs)) == 1:
            if self.name == "sgd":
                self._sgd(self.lrs[0], self._state["params"], grads, self._state["buffers"])
            else:
                torch._foreach_add_(self._shared_steps, 1)
                self._counts.add_(1)  # the members' own counts, for when they part
                state = self._state
                self._adam(self.lrs[0], state["params"], grads, state["avgs"], state["sqs"], self._shared_steps)
        else:
            by_lr: dict[float, list[int]] = {}
            for k in sorted(self.live):
                by_lr.setdefault(self.lrs[k], []).append(k)
            for lr, members in by_lr.items():
                views = {key: [t for k in members for t in self._views[key][k]] for key in self._views}
                member_grads = [g[k] for k in members for g in grads]  # type: ignore[index]
                if self.name == "sgd":
                    self._sgd(lr, views["params"], member_grads, views["buffers"])
                else:
                    steps = [t for k in members for t in self._steps[k]]
                    torch._foreach_add_(steps, 1)
                    self._adam(lr, views["params"], member_grads, views["avgs"], views["sqs"], steps)
        if self.name == "sgd":
            self._first = False

    def _public_step(self, grads: list[torch.Tensor | None]) -> None:
        """Each live member's slices stepped as torch.optim's Adam, AdamW or SGD (momentum) would step them."""
        beta1, beta2 = optimizers.BETAS
        for k in sorted(self.live):
            lr, wd = self.lrs[k], self.weight_decay
            views = {key: self._views[key][k] for key in self._views}
            if self.name != "sgd":
                for step in self._steps[k]:
                    step.add_(1)
            for i, param in enumerate(views["params"]):
                grad = grads[i]
                if grad is None:
                    continue
                grad = grad[k]
                if self.name == "sgd":
                    grad = grad.add(param, alpha=wd) if wd else grad
                    buffer = views["buffers"][i]
                    if self._first:
                        buffer.copy_(grad)
                    else:
                        buffer.mul_(optimizers.MOMENTUM).add_(grad)
                    param.add_(buffer, alpha=-lr)
                    continue
                if self.name == "adamw":
                    param.mul_(1 - lr * wd)
                elif wd:
                    grad = grad.add(param, alpha=wd)
                t = float(self._steps[k][i])
                avg, sq = views["avgs"][i], views["sqs"][i]
                avg.lerp_(grad, 1 - beta1)
                sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = (sq.sqrt() / math.sqrt(1 - beta2**t)).add_(optimizers.EPS)
                param.addcdiv_(avg, denom, value=-lr / (1 - beta1**t))

    def _adam(self, lr: float, params: list, grads: list, avgs: list, sqs: list, steps: list) -> None:
        self.kernel(
            params,
            grads,
            avgs,
            sqs,
            [],
            steps,
            amsgrad=False,
            lr=lr,
            beta1=optimizers.BETAS[0],
            beta2=optimizers.BETAS[1],
            weight_decay=self.weight_decay,
            eps=optimizers.EPS,
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )

    def _sgd(self, lr: float, params: list, grads: list, buffers: list) -> None:
        torch._fused_sgd_(
            params,
            grads,
            buffers,
            weight_decay=self.weight_decay,
            momentum=optimizers.MOMENTUM,
            lr=lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=self._first,
            grad_scale=None,
            found_inf=None,
        )


# -- memory ---------------------------------------------------------------------------------------


def member_bytes(spec: Spec, batch: int) -> int:
    """An estimate of one member's training memory: its activations for backward, and its parameters' state."""
    budget = budget_of(spec)
    activations = sum(r.activations for r in budget.rows) + math.prod(spec.input_shape)
    return 4 * (activations * batch * BACKWARD_FACTOR + budget.total_params * PARAM_COPIES)


def available_bytes(device: torch.device | str) -> int:
    """Memory a group may plan on: CUDA's free memory, else a quarter of the machine's physical memory."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // CPU_SHARE


def split(
    configs: Sequence[TrainConfig], spec: Spec, batch: int, device: torch.device | str
) -> tuple[list[list[TrainConfig]], str | None]:
    """The configs in sub-groups that each fit in memory, and a notice when they had to be split."""
    each = member_bytes(spec, batch)
    fit = max(1, available_bytes(device) // max(each, 1))
    if fit >= len(configs):
        return [list(configs)], None
    groups = [list(configs[i : i + fit]) for i in range(0, len(configs), fit)]
    notice = (
        f"{len(configs)} members need about {len(configs) * each / 2**20:,.0f} MiB; "
        f"trained as {len(groups)} groups of up to {fit}"
    )
    return groups, notice


def check_configs(configs: Sequence[TrainConfig]) -> str | None:
    """Why these configs cannot train as one group (they may differ only in seed and lr), or None."""
    if not configs:
        return "a group needs at least one member"
    first = dataclasses.asdict(configs[0])
    for config in configs[1:]:
        for key, value in dataclasses.asdict(config).items():
            if key not in VARYING and value != first[key]:
                return f"members of a group may differ only in seed and lr, not {key} ({first[key]!r} vs {value!r})"
    return None


# -- the trainer ----------------------------------------------------------------------------------


class GroupTrainer(Controls):
    """Trains N members of `spec` in one step, in the calling thread; pause/resume/stop from any thread.

    `on_event(member, event)` gets each member's events as a solo `Trainer` emits them: a
    `Started`, `Step`s, `EpochEnd`s, `Weights` and exactly one `Ended`, so each member can be
    recorded as its own run. A run that cannot start emits only each member's `Ended` ("failed").
    """

    def __init__(
        self,
        spec: Spec,
        dataset: Dataset | str,
        configs: Sequence[TrainConfig],
        on_event: MemberCallback | None = None,
        *,
        arch: str | None = None,
        data_dir: Path | str | None = None,
    ) -> None:
        problem = check_configs(configs)
        if problem:
            raise ValueError(problem)
        self.spec = spec
        self.configs = list(configs)
        self.arch = arch or (spec.name if spec.name != "custom" else spec.line())
        self.model: nn.Sequential | None = None
        self._dataset = dataset
        self._data_dir = data_dir
        self._on_event = on_event
        Controls.__init__(self)
        n = len(self.configs)
        self._ended: list[Ended | None] = [None] * n
        self._train_seconds = 0.0
        self._samples = 0  # per member
        self._step = 0
        self._epoch = 0
        self._epochs_done = [0] * n
        self._best: list[float | None] = [None] * n
        self._final: list[float | None] = [None] * n
        self._train_loss: list[float | None] = [None] * n
        self._optimizer: _GroupOptimizer | None = None

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> list[Ended]:
        """Train to the end (or a stop); returns every member's `Ended`, in member order."""
        self._start = time.perf_counter()
        status: Status = "finished"
        message = ""
        try:
            self._train()
        except (_Stopped, KeyboardInterrupt):
            status, message = "interrupted", f"stopped at step {self._step} (epoch {max(self._epoch, 1)})"
        except (ValueError, DataError, DeviceError) as exc:
            status, message = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - every training fault becomes "failed" members
            if isinstance(exc, RuntimeError) and "out of memory" in str(exc):
                status, message = "failed", f"out of memory: {exc}; try fewer members or a smaller batch size"
            else:
                log.info("group training failed", exc_info=True)
                status, message = "failed", f"{type(exc).__name__}: {exc}"
        for k in range(len(self.configs)):
            if self._ended[k] is None:
                text = message or f"finished {self._epochs_done[k]} epoch{'s' if self._epochs_done[k] != 1 else ''}"
                self._end(k, status, text)
        return [e for e in self._ended if e is not None]

    def _emit(self, member: int, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(member, event)

    def _live(self) -> list[int]:
        return [k for k, e in enumerate(self._ended) if e is None]

    def _end(self, member: int, status: Status, message: str) -> None:
        """The member's one `Ended`, with its weights as they are now; it trains no further."""
        state = None
        if self.model is not None:
            try:
                state = member_state(self.model, member)
            except Exception:  # noqa: BLE001 - a broken device must not turn one Ended into a traceback
                log.info("could not copy member %d's final weights", member, exc_info=True)
                message += "; the final weights could not be copied"
        if self._optimizer is not None:
            self._optimizer.freeze(member)
        ended = Ended(
            status=status,
            message=message,
            epochs_done=self._epochs_done[member],
            best_val_acc=self._best[member],
            final_val_acc=self._final[member],
            train_loss=self._train_loss[member],
            seconds=self._elapsed(),
            samples_per_s=self._samples / self._train_seconds if self._train_seconds > 0 else 0.0,
            state_dict=state,
        )
        self._ended[member] = ended
        self._emit(member, ended)

    def _diverge(self, member: int, message: str) -> None:
        lr = self.configs[member].lr
        self._end(member, "diverged", f"{message}; try a lower learning rate (now {lr:g})")

    def _prepare(self) -> tuple[Dataset, torch.device]:
        for config in self.configs:
            problem = config.validate()
            if problem:
                raise ValueError(problem)
        device = pick(self.configs[0].device)
        if device.type not in optimizers.FUSED_DEVICES:
            raise ValueError(f"groups train on cpu or cuda, not {device.type}; train the members one by one")
        return dataset_for(self.spec, self._dataset, self._data_dir, device), device

    def _weights(self, member: int) -> Weights:
        assert self.model is not None
        state = member_state(self.model, member)
        kinds = enumerate(layer.kind for layer in self.spec.layers)
        tensors = {i: state[f"{i}.weight"] for i, kind in kinds if kind in ("conv", "linear")}
        return Weights(self._step, self._epoch, tensors, state)

    def _train(self) -> None:
        config, n = self.configs[0], len(self.configs)
        data, device = self._prepare()
        spec = dataclasses.replace(self.spec, input_shape=data.input_shape)
        channels_last = _channels_last(spec, device)
        dropouts = [dropout_generator(c.seed, device) for c in self.configs]
        solos = [initial_model(spec, c.seed) for c in self.configs]
        self.model = model = stack(solos, dropouts, channels_last).to(device)
        params = sum(p.numel() for p in solos[0].parameters())
        del solos
        self._optimizer = optimizer = _GroupOptimizer(
            config.optimizer, list(model.parameters()), [c.lr for c in self.configs], config.weight_decay
        )
        x, y = data.x_train, data.y_train
        count = len(x)
        batch = min(config.batch_size, count)
        steps_per_epoch = count // batch if config.drop_last else math.ceil(count / batch)
        total_steps = steps_per_epoch * config.epochs
        sizes = [min(batch, count - i * batch) for i in range(steps_per_epoch)]
        orders = [torch.Generator().manual_seed(c.seed) for c in self.configs]  # batch order, as a solo run's
        flat = _flat_input(spec)
        first = torch.arange(batch, device=x.device).expand(n, batch)
        tune(model, _gather(x, y, first, flat)[0], channels_last)
        for k, member_config in enumerate(self.configs):
            settings = {**member_config.to_dict(), "notes": [], "group_size": n, "member": k}
            self._emit(k, started(self.arch, self.spec, params, data, device, config, steps_per_epoch, settings))
        next_weights = time.perf_counter() + config.weights_every
        batch_buffer = torch.empty(n * batch, x[0].numel(), dtype=x.dtype, device=x.device)  # see _gather
        for epoch in range(1, config.epochs + 1):
            self._epoch = epoch
            clock = (time.perf_counter(), self._paused_seconds)
            meter = _GroupMeter(device, sizes, n)
            model.train()
            order = torch.stack([torch.randperm(count, generator=g) for g in orders]).to(device, non_blocking=True)
            next_report = time.perf_counter() + config.report_every
            for i in range(steps_per_epoch):
                self._check_control()
                index = order[:, i * batch : (i + 1) * batch]  # (N, b): each member's own batch
                xb, yb = _gather(x, y, index, flat, batch_buffer)
                scores = classes_first(model(xb))
                losses = F.cross_entropy(scores, yb, reduction="none").mean(1)
                optimizer.zero_grad()
                losses.sum().backward()
                optimizer.step()
                meter.add(losses, scores, yb)
                self._step += 1
                now = time.perf_counter()
                if now >= next_report or i == steps_per_epoch - 1:
                    self._report(meter, epoch, i + 1, self._active(clock), total_steps)
                    next_report = time.perf_counter() + config.report_every
                if not self._live():
                    return
                if config.weights_every and now >= next_weights:
                    for k in self._live():
                        self._emit(k, self._weights(k))
                    next_weights = time.perf_counter() + config.weights_every
            train_time = self._active(clock)
            self._samples += meter.seen
            self._train_seconds += train_time
            means = meter.means()
            results = self._evaluate(data, n)
            for k in self._live():
                train_loss, train_acc = means[k]
                val_loss, val_acc = results[k]
                self._train_loss[k] = train_loss
                if _diverged(val_loss):
                    self._diverge(k, f"validation loss became {val_loss:.4g} after epoch {epoch}")
                    continue
                self._epochs_done[k], self._final[k] = epoch, val_acc
                best = self._best[k]
                self._best[k] = val_acc if best is None else max(best, val_acc)
                throughput = meter.seen / train_time if train_time > 0 else 0.0
                self._emit(
                    k, EpochEnd(epoch, train_loss, train_acc, val_loss, val_acc, self._active(clock), throughput)
                )
            if not self._live():
                return
        for k in self._live():
            self._emit(k, self._weights(k))

    def _report(self, meter: _GroupMeter, epoch: int, epoch_step: int, epoch_time: float, total_steps: int) -> None:
        """Read the device sums (the one sync): a Step for each live member, or its end as diverged."""
        readings = meter.read()
        elapsed, done = self._elapsed(), self._step / total_steps
        for k in self._live():
            loss, acc = readings[k]
            if _diverged(loss):
                index, bad = meter.first_bad(k)
                step = self._step - meter.steps + index + 1
                self._diverge(k, f"loss became {bad:.4g} at step {step} (epoch {epoch})")
                continue
            speed = meter.seen / epoch_time if epoch_time > 0 else 0.0
            self._emit(k, Step(self._step, epoch, epoch_step, loss, acc, speed, elapsed, elapsed * (1 - done) / done))

    @torch.inference_mode()
    def _evaluate(self, data: Dataset, n: int) -> list[tuple[float, float]]:
        """Each member's mean loss and accuracy on the validation split, one sync at the end."""
        assert self.model is not None
        self.model.eval()
        flat = _flat_input(self.spec)
        loss_sum = torch.zeros(n, dtype=_accumulator(data.device), device=data.device)
        correct = torch.zeros(n, dtype=torch.int64, device=data.device)
        step = max(1, EVAL_BATCH // n)
        for start in range(0, len(data.x_val), step):
            xb, yb = data.x_val[start : start + step], data.y_val[start : start + step]
            xs = xb.unsqueeze(0).expand(n, *xb.shape) if flat else xb.repeat(1, n, 1, 1)
            scores = classes_first(self.model(xs))
            ys = yb.expand(n, -1)
            loss_sum += F.cross_entropy(scores.float(), ys, reduction="none").sum(1, dtype=loss_sum.dtype)
            correct += (predictions(scores) == ys).sum(1)
        count = len(data.x_val)
        return [(loss / count, hits / count) for loss, hits in zip(loss_sum.tolist(), correct.tolist(), strict=True)]


class _GroupMeter:
    """Each member's train loss and accuracy for one epoch, summed on the device (see train._Meter).

    Each step's mean losses go into float64 slots, weighted by the batch size only when read,
    as the solo meter does: float32 sums of finite losses near 1e38 overflow, and a member
    diverges by the solo rule (nan, inf or a mean loss above DIVERGED_LOSS), traced to its step.
    """

    def __init__(self, device: torch.device, sizes: list[int], members: int) -> None:
        dtype = _accumulator(device)
        self.losses = torch.zeros(len(sizes), members, dtype=dtype, device=device)  # per step and member: mean loss
        self.sizes = torch.tensor(sizes, dtype=dtype).to(device)
        self.correct = torch.zeros(members, dtype=torch.int64, device=device)
        self.steps = self.seen = 0  # seen: samples per member
        self._read = (0, [0.0] * members, [0.0] * members)

    def add(self, losses: torch.Tensor, scores: torch.Tensor, y: torch.Tensor) -> None:
        """One step: its (N,) mean losses and its scores as `classes_first` gives them."""
        self.losses[self.steps].copy_(losses.detach())
        self.correct.add_((predictions(scores) == y).sum(1))
        self.steps += 1
        self.seen += y.shape[1]

    def read(self) -> list[tuple[float, float]]:
        """Each member's mean loss and accuracy since the last read (nan or inf if any step's loss was)."""
        steps, seen = self.steps, self.seen
        loss = (self.sizes[:steps] @ self.losses[:steps]).tolist()
        correct = [float(c) for c in self.correct.tolist()]
        last_seen, last_loss, last_correct = self._read
        self._read = (seen, loss, correct)
        count = seen - last_seen
        pairs = zip(loss, last_loss, correct, last_correct, strict=True)
        return [((a - b) / count, (c - d) / count) for a, b, c, d in pairs]

    def first_bad(self, member: int) -> tuple[int, float]:
        """The 0-based step of this epoch whose mean loss first diverged for `member`, and that loss.

        Never fails: if no step diverged on its own, the step with the largest loss.
        """
        losses = self.losses[: self.steps, member].double().cpu()
        bad = ~torch.isfinite(losses) | (losses > DIVERGED_LOSS)
        index = int(bad.nonzero()[0]) if bool(bad.any()) else int(losses.argmax())
        return index, float(losses[index])

    def means(self) -> list[tuple[float, float]]:
        seen, loss, correct = self._read
        return [(a / seen, c / seen) for a, c in zip(loss, correct, strict=True)]
