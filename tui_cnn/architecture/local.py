"""A locally connected layer: a conv's geometry without weight sharing (PyTorch has none).

Every output position has its own kernel over all input channels and its own bias per
output channel and position (the convention of Keras's LocallyConnected2D), so the
ladder can train simple_cnn with locality but no sharing. A kernel that hangs over the
padding still holds all its k x k x C_in weights.

The forward is `F.unfold` plus one batched matmul over positions. Measured side by side on
a shared 2-core CPU, one thread, local_cnn's five layers forward and backward at batch 64:
`bmm` of the weights with the patches made contiguous 4.9 ms a step, the same on a strided
view of the patches 6.9 ms, `einsum` 8.0 ms (1.6x slower), a broadcast multiply and sum
14.4 ms; simple_cnn's convs 3.1 ms (`python benchmarks/local_layer.py`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LocallyConnected2d(nn.Module):
    """A conv whose kernel differs at every output position.

    `weight` is (H_out*W_out, out_channels, in_channels*k*k): row `l` (position y*W_out + x)
    holds the kernels a `Conv2d` would use there, `weight[l].reshape(out, in, k, k)`, in
    the (channel, row, column) order `F.unfold` gives its patches. Positions come first so
    the forward is one batched matmul. `bias` is (out_channels, H_out, W_out).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        in_size: tuple[int, int],
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.in_size = (int(in_size[0]), int(in_size[1]))
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.out_size = tuple((n + 2 * padding - kernel_size) // stride + 1 for n in self.in_size)
        if min(self.out_size) < 1:
            raise ValueError(f"kernel {kernel_size} with padding {padding} does not fit a {in_size} input")
        positions = self.out_size[0] * self.out_size[1]
        fan_in = in_channels * kernel_size * kernel_size
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(positions, out_channels, fan_in, **factory))
        self.bias = nn.Parameter(torch.empty(out_channels, *self.out_size, **factory)) if bias else None
        self.reset_parameters()

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """A conv's default init, uniform(+-1/sqrt(fan_in)), the weights first and then the bias.

        From `generator` when given (a seeded run's own), else torch's global one as
        torch.nn's layers do.
        """
        bound = 1 / math.sqrt(self.weight.shape[2])
        with torch.no_grad():
            self.weight.uniform_(-bound, bound, generator=generator)
            if self.bias is not None:
                self.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.in_size:  # its weights exist for one input size only
            raise ValueError(f"this layer takes {self.in_size[0]}x{self.in_size[1]} inputs, got {tuple(x.shape[1:])}")
        n = x.shape[0]
        patches = F.unfold(x, self.kernel_size, padding=self.padding, stride=self.stride)  # N, C*k*k, L
        out = torch.bmm(self.weight, patches.permute(2, 1, 0).contiguous())  # L, out, N
        out = out.permute(2, 1, 0).reshape(n, self.out_channels, *self.out_size)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, in_size={self.in_size}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )
