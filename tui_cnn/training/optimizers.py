"""Adam, AdamW and SGD as torch's fused kernels, called without `torch.optim`'s machinery.

`torch.optim` runs the same kernels with `fused=True`, but every `Optimizer` imports
`torch._dynamo` when it is built and stepped (0.8 s of a 2.5 s `cnn-tui train` here,
and a hundred-odd MB of resident memory), and wraps each step in bookkeeping that
costs more than the update itself for a 5,000-parameter model. These hold their state
in flat lists and call the kernel once a step; the parameters they produce are
bit-identical to `torch.optim`'s fused ones (the tests compare them). Devices without
fused kernels (Apple MPS) keep `torch.optim`.

The kernels are private: a torch release may rename them or change what they take. So
each is checked once per process and device type (`check`: two steps on a throwaway
tensor against the update worked out here); if one is missing, raises or computes
something else, `make` falls back to `torch.optim` (fused where that passes the same
check, else its default) and `check` says so in one line for the run's notes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import torch

FUSED_DEVICES = ("cpu", "cuda")
BETAS = (0.9, 0.999)  # torch.optim's Adam defaults
EPS = 1e-8
MOMENTUM = 0.9


class Optimizer(Protocol):
    def zero_grad(self) -> None: ...

    def step(self) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class _Fused:
    """Parameters with their per-parameter state; `step` updates those that have a gradient."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = lr
        self.weight_decay = weight_decay

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _with_grads(self) -> list[int]:
        return [i for i, p in enumerate(self.params) if p.grad is not None]

    def _check_state(self, state: dict[str, Any], kind: str, keys: tuple[str, ...]) -> None:
        """ValueError unless `state` is this kind of optimizer's, for parameters of these shapes."""
        if state.get("optimizer") != kind:
            raise ValueError(f"optimizer state is for {state.get('optimizer')!r}, not {kind!r}")
        for key in keys:
            tensors = state[key]
            if len(tensors) != len(self.params) or any(
                t is not None and key != "step" and t.shape != p.shape
                for t, p in zip(tensors, self.params, strict=True)
            ):
                raise ValueError(f"optimizer state {key!r} does not fit these parameters")


class FusedAdam(_Fused):
    """Adam (or AdamW with `decoupled=True`), as `torch.optim.Adam(..., fused=True)`."""

    def __init__(
        self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0, decoupled: bool = False
    ) -> None:
        super().__init__(params, lr, weight_decay)
        self.kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        self.exp_avgs = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in self.params]
        # Fused kernels read the step count from a float32 tensor beside each parameter.
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]
        self.kind = "adamw" if decoupled else "adam"

    def state_dict(self) -> dict[str, Any]:
        """The moments and step counts by parameter position: `torch.save` it, load it with weights_only.

        The tensors are the live state, as in `torch.optim`: save or copy them before the next step.
        """
        return {"optimizer": self.kind, "exp_avg": self.exp_avgs, "exp_avg_sq": self.exp_avg_sqs, "step": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`'s state (of the same parameters, in the same order)."""
        self._check_state(state, self.kind, ("exp_avg", "exp_avg_sq", "step"))
        with torch.no_grad():
            for ours, theirs in (
                (self.exp_avgs, state["exp_avg"]),
                (self.exp_avg_sqs, state["exp_avg_sq"]),
                (self.steps, [torch.as_tensor(s) for s in state["step"]]),
            ):
                for mine, saved in zip(ours, theirs, strict=True):
                    mine.copy_(saved)

    def step(self) -> None:
        live = self._with_grads()
        if not live:
            return
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        self.kernel(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.exp_avgs[i] for i in live],
            [self.exp_avg_sqs[i] for i in live],
            [],
            steps,
            amsgrad=False,
            lr=self.lr,
            beta1=BETAS[0],
            beta2=BETAS[1],
            weight_decay=self.weight_decay,
            eps=EPS,
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )


class FusedSGD(_Fused):
    """SGD with momentum 0.9, as `torch.optim.SGD(..., momentum=0.9, fused=True)`."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.buffers: list[torch.Tensor | None] = [None] * len(self.params)

    def state_dict(self) -> dict[str, Any]:
        """The momentum buffers by parameter position (None before a parameter's first step).

        The tensors are the live state, as in `torch.optim`: save or copy them before the next step.
        """
        return {"optimizer": "sgd", "momentum_buffer": self.buffers}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`'s state (of the same parameters, in the same order)."""
        self._check_state(state, "sgd", ("momentum_buffer",))
        self.buffers = [
            None if saved is None else saved.detach().to(p.device, p.dtype, copy=True)
            for saved, p in zip(state["momentum_buffer"], self.params, strict=True)
        ]

    def step(self) -> None:
        live = self._with_grads()
        if not live:
            return
        first = all(self.buffers[i] is None for i in live)
        if first:  # the kernel fills new buffers with the first gradient
            for i in live:
                self.buffers[i] = torch.empty_like(self.params[i].grad)
        torch._fused_sgd_(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.buffers[i] for i in live],
            weight_decay=self.weight_decay,
            momentum=MOMENTUM,
            lr=self.lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=first,
            grad_scale=None,
            found_inf=None,
        )


_CLASSES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD"}  # in torch.optim


def _torch_optim(name: str, params: Iterable[torch.Tensor], **kw: Any) -> torch.optim.Optimizer:
    momentum = {"momentum": MOMENTUM} if name == "sgd" else {}
    return getattr(torch.optim, _CLASSES[name])(params, **momentum, **kw)


_CHECK = {"lr": 0.1, "weight_decay": 0.1}
_CHECK_START, _CHECK_GRADS = (1.0, -2.0), ((0.5, 0.25), (-0.125, 1.0))
_choices: dict[tuple[str, str], tuple[str, str | None]] = {}  # (name, device type) -> (way, note)


def _expected(name: str) -> list[float]:
    """The check's parameters after its two steps, worked out in Python floats as torch.optim documents."""
    lr, wd = _CHECK["lr"], _CHECK["weight_decay"]
    out = []
    for i, p in enumerate(_CHECK_START):
        m = v = 0.0
        for t, grads in enumerate(_CHECK_GRADS, 1):
            g = grads[i]
            if name == "sgd":
                g += wd * p
                m = g if t == 1 else MOMENTUM * m + g
                p -= lr * m
                continue
            if name == "adamw":
                p *= 1 - lr * wd
            else:
                g += wd * p
            m = BETAS[0] * m + (1 - BETAS[0]) * g
            v = BETAS[1] * v + (1 - BETAS[1]) * g * g
            p -= lr * (m / (1 - BETAS[0] ** t)) / (math.sqrt(v / (1 - BETAS[1] ** t)) + EPS)
        out.append(p)
    return out


def _passes(build: Callable[[list[torch.Tensor]], Optimizer], name: str, device: torch.device) -> str | None:
    """None if two steps of `build`'s optimizer on a throwaway tensor give the expected values, else why not."""
    try:
        param = torch.tensor(_CHECK_START, device=device, requires_grad=True)
        optimizer = build([param])
        for grads in _CHECK_GRADS:
            param.grad = torch.tensor(grads, device=device)
            optimizer.step()
        got = param.detach().cpu().tolist()
    except Exception as exc:  # noqa: BLE001 - any failure of a private kernel means: do not use it
        reason = str(exc).strip().splitlines()[0][:80] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
    want = _expected(name)
    if all(math.isclose(g, w, rel_tol=1e-5, abs_tol=1e-7) for g, w in zip(got, want, strict=True)):
        return None
    return f"it computed {[round(g, 6) for g in got]}, not {[round(w, 6) for w in want]}"


def _private(name: str, params: Iterable[torch.Tensor], lr: float, weight_decay: float) -> Optimizer:
    if name in ("adam", "adamw"):
        return FusedAdam(params, lr, weight_decay, decoupled=name == "adamw")
    return FusedSGD(params, lr, weight_decay)


def check(name: str, device: torch.device) -> tuple[str, str | None]:
    """How `make` builds `name` on this device type, "private", "fused" or "default", and a note if not the first.

    Checked once per process and device type: the first run pays a few small steps, later ones nothing.
    """
    key = (name, device.type)
    if key not in _choices:
        if device.type not in FUSED_DEVICES:
            _choices[key] = ("default", None)
        else:
            why = _passes(lambda ps: _private(name, ps, **_CHECK), name, device)
            if why is None:
                _choices[key] = ("private", None)
            else:
                fused = _passes(lambda ps: _torch_optim(name, ps, fused=True, **_CHECK), name, device) is None
                way = "fused" if fused else "default"
                using = f"torch.optim.{_CLASSES[name]}{'(fused=True)' if fused else ''}"
                _choices[key] = (way, f"{name}: torch's private fused kernel is unusable ({why}); using {using}")
    return _choices[key]


def make(
    name: str,
    params: Iterable[torch.Tensor],
    device: torch.device,
    lr: float,
    weight_decay: float = 0.0,
    *,
    capturable: bool = False,
) -> Optimizer:
    """`adam`, `adamw` or `sgd` (momentum 0.9) for parameters on `device`, the fastest way that `check` passed.

    `capturable`: the step goes into a CUDA graph. The private kernels always are (their step
    counts are device tensors); torch.optim's Adam and AdamW are asked to be; SGD has no host state.
    """
    way, _ = check(name, device)
    if way == "private":
        return _private(name, params, lr, weight_decay)
    extra: dict[str, Any] = {"fused": True} if way == "fused" else {}
    if capturable and name != "sgd":
        extra["capturable"] = True
    return _torch_optim(name, params, lr=lr, weight_decay=weight_decay, **extra)
