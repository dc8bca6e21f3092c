"""Four ways to run N members' convolutions, and a quick timing that picks one per layer.

One grouped convolution (`groups=N`) is the fast way for most of simple_cnn's layers, but
not for all, and which layout it wants depends on the CPU. Forward and backward, 8 members
at batch 64, simple_cnn's five layers in turn:
- 2-core EPYC, one thread: the first layer (one input channel a member) took 24 ms grouped
  against 14 ms as eight plain convolutions, and the last (16 -> 10 on a 2x2 input) 15 ms
  grouped against 9 ms as im2col (`unfold`) and one batched matmul;
- 2-core Xeon (AVX-512), two threads: 2.6, 1.9, 1.0, 0.6, 1.2 ms grouped contiguous against
  1.2, 1.4, 1.1, 0.7, 0.4 ms grouped channels-last, which took the whole step from 7.9 to 4.7 ms.

So a group times each way on its own layers once (a few steps on random data, cached per
geometry and input layout for the process) and keeps the fastest. All four compute the same
convolution, to float rounding.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

MODES = ("grouped", "channels_last", "members", "unfold")
TUNE_REPEATS = 3  # timed passes per mode, after one warm-up: the median of three
_fastest: dict[tuple, str] = {}  # geometry and input layout -> mode, for the process
CL = torch.channels_last


def conv(
    mode: str,
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
) -> torch.Tensor:
    """N convolutions of `x` (batch, N x C_in, H, W) with `weight` (N, out, C_in, k, k): (batch, N x out, H', W')."""
    n, out, inp, kh, kw = weight.shape
    if mode in ("grouped", "channels_last"):
        flat_bias = bias.reshape(-1) if bias is not None else None
        flat_weight = weight.reshape(n * out, inp, kh, kw)
        if mode == "channels_last":  # the backend follows the input's layout: both, so the output is too
            x, flat_weight = x.contiguous(memory_format=CL), flat_weight.contiguous(memory_format=CL)
        return F.conv2d(x, flat_weight, flat_bias, stride, padding, groups=n)
    if mode == "members":
        parts = [
            F.conv2d(x[:, k * inp : (k + 1) * inp], weight[k], bias[k] if bias is not None else None, stride, padding)
            for k in range(n)
        ]
        return torch.cat(parts, dim=1)
    if mode == "unfold":
        b, _, h, w = x.shape
        ho = (h + 2 * padding[0] - kh) // stride[0] + 1
        wo = (w + 2 * padding[1] - kw) // stride[1] + 1
        cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # (b, N*C*k*k, L)
        cols = cols.view(b, n, inp * kh * kw, ho * wo).permute(1, 2, 0, 3).reshape(n, inp * kh * kw, b * ho * wo)
        flat_weight = weight.reshape(n, out, inp * kh * kw)
        y = torch.bmm(flat_weight, cols) if bias is None else torch.baddbmm(bias.unsqueeze(2), flat_weight, cols)
        return y.view(n, out, b, ho, wo).permute(2, 0, 1, 3, 4).reshape(b, n * out, ho, wo)
    raise ValueError(f"unknown conv mode {mode!r}: one of {', '.join(MODES)}")


def _seconds(step: Callable[[], None]) -> float:
    step()  # warm-up: allocations, the backend's own choices
    times = []
    for _ in range(TUNE_REPEATS):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def is_channels_last(x: torch.Tensor) -> bool:
    """Whether `x` is laid out channels-last (and not also contiguous, as a 1x1 map is both)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=CL) and not x.is_contiguous()


def fastest(
    x_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    bias: bool,
    stride: tuple[int, int],
    padding: tuple[int, int],
    input_grad: bool,
    device: torch.device,
    channels_last_input: bool = False,
    modes: tuple[str, ...] = MODES,
) -> str:
    """Of `modes`, the quickest forward and backward for this geometry and input layout (timed once a process)."""
    key = (x_shape, weight_shape, bias, stride, padding, input_grad, device.type, channels_last_input, modes)
    if key not in _fastest:
        generator = torch.Generator().manual_seed(0)
        layout = CL if channels_last_input else torch.contiguous_format
        x = torch.randn(x_shape, generator=generator).to(device, memory_format=layout).requires_grad_(input_grad)
        weight = torch.randn(weight_shape, generator=generator).to(device).requires_grad_()
        b = torch.randn(weight_shape[:2], generator=generator).to(device).requires_grad_() if bias else None

        def step(mode: str) -> Callable[[], None]:
            def run() -> None:
                conv(mode, x, weight, b, stride, padding).sum().backward()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)

            return run

        _fastest[key] = min(modes, key=lambda mode: _seconds(step(mode)))
    return _fastest[key]
