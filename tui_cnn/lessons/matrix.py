"""A conv (or locally connected) layer unrolled into the matrix it multiplies by.

The pattern (which weight sits in which cell) is pure arithmetic over shapes; torch
is imported only to fill in a layer's values.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..architecture.budget import budget_of, kernel_problem, out_size
from ..architecture.spec import CONVS, Spec, format_shape

if TYPE_CHECKING:
    import torch
    from torch import nn

# An unrolled matrix past this many cells cannot be looked at, and its pattern alone
# would take hundreds of megabytes of Python lists.
MAX_CELLS = 1_000_000


DEFAULT_MATRIX_SIZE = 5  # the default input side for `layer_matrix`: small enough to read


WEIGHT_MARKS = string.ascii_lowercase + string.ascii_uppercase + string.digits


def weight_mark(index: int) -> str:
    """The letter naming kernel weight `index` (1-based) in a drawn matrix; letters repeat past 62 weights."""
    return WEIGHT_MARKS[(index - 1) % len(WEIGHT_MARKS)]


@dataclass(frozen=True)
class ConvMatrix:
    """A conv layer unrolled into the matrix M with `M @ x.flatten() + bias == conv(x).flatten()`.

    Rows are output units in (channel, y, x) order, columns input pixels in (channel,
    y, x) order: the same order as `Tensor.flatten()` on CxHxW. A local layer's matrix
    (`local`) has the same cells, each with a weight of its own.
    """

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    pattern: list[list[int]]  # rows x cols: 1-based index into weight.flatten(), 0 for a structural zero
    values: torch.Tensor | None = field(default=None, compare=False)  # rows x cols, None when from shapes only
    bias: torch.Tensor | None = field(default=None, compare=False)  # one per row (repeated per channel), or None
    local: bool = False  # pattern indexes a LocallyConnected2d's weight [positions, O, C*k*k]: nothing shared

    @property
    def shape(self) -> tuple[int, int]:
        return math.prod(self.out_shape), math.prod(self.in_shape)

    @property
    def cells(self) -> int:
        rows_, cols = self.shape
        return rows_ * cols

    @property
    def nonzeros(self) -> int:
        """Cells that hold a weight: the connections a dense layer would have all of."""
        return sum(len(row) - row.count(0) for row in self.pattern)

    @property
    def distinct(self) -> int:
        """Different weights used: the parameters behind all those connections."""
        return len({i for row in self.pattern for i in row if i})

    @property
    def sharing(self) -> float:
        """How many connections each weight serves on average."""
        return self.nonzeros / self.distinct if self.distinct else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "pattern": self.pattern,
            "values": self.values.tolist() if self.values is not None else None,
            "bias": self.bias.tolist() if self.bias is not None else None,
            "nonzeros": self.nonzeros,
            "distinct": self.distinct,
            "cells": self.cells,
            "sharing": self.sharing,
        }


def _matrix_problem(in_shape: tuple[int, ...], out_channels: int, k: int, s: int, p: int) -> str | None:
    """Why this layer on this input has no (showable) matrix, or None."""
    if len(in_shape) != 3 or any(d < 1 for d in in_shape):
        return f"input must be CxHxW with positive sizes, got {format_shape(in_shape)}"
    c, h, w = in_shape
    problem = kernel_problem(h, w, k, p)
    if problem:
        return problem
    cells = out_channels * out_size(h, k, s, p) * out_size(w, k, s, p) * c * h * w
    if cells > MAX_CELLS:
        return f"the matrix would have {cells:,} cells (at most {MAX_CELLS:,}): use a smaller input"
    return None


def conv_pattern(
    in_shape: tuple[int, int, int],
    out_channels: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    local: bool = False,
) -> ConvMatrix:
    """Which kernel weight sits in each cell of the unrolled matrix; raises ValueError if none fits.

    With `local`, the weights are a locally connected layer's: each position's own.
    """
    problem = _matrix_problem(in_shape, out_channels, kernel, stride, padding)
    if problem:
        raise ValueError(problem)
    c, h, w = in_shape
    k, s, p = kernel, stride, padding
    ho, wo = out_size(h, k, s, p), out_size(w, k, s, p)
    pattern = [[0] * (c * h * w) for _ in range(out_channels * ho * wo)]
    for o in range(out_channels):
        for y in range(ho):
            for x in range(wo):
                row = pattern[(o * ho + y) * wo + x]
                # A conv's weight [O, C, k, k] is the same at every position; a local one is [y*wo + x, O, C*k*k].
                first = ((y * wo + x) * out_channels + o) * c if local else o * c
                for ci in range(c):
                    for i in range(k):
                        iy = y * s - p + i
                        if not 0 <= iy < h:
                            continue  # a padded row: no input pixel, so no cell
                        for j in range(k):
                            ix = x * s - p + j
                            if 0 <= ix < w:
                                row[(ci * h + iy) * w + ix] = ((first + ci) * k + i) * k + j + 1
    return ConvMatrix((c, h, w), (out_channels, ho, wo), pattern, local=local)


def conv_matrix(
    weight: torch.Tensor,
    in_shape: tuple[int, int, int],
    stride: int = 1,
    padding: int = 0,
    bias: torch.Tensor | None = None,
) -> ConvMatrix:
    """The unrolled matrix of a conv with these weights [O, C, k, k] (and bias [O]), on the CPU."""
    if weight.dim() != 4 or weight.shape[2] != weight.shape[3]:
        raise ValueError(f"expected a square conv weight [O, C, k, k], got {list(weight.shape)}")
    if weight.shape[1] != in_shape[0]:
        raise ValueError(f"weight takes {weight.shape[1]} input channels, input has {in_shape[0]}")
    blank = conv_pattern(in_shape, weight.shape[0], weight.shape[2], stride, padding)
    per_row = None
    if bias is not None:
        per_row = bias.detach().cpu().repeat_interleave(blank.out_shape[1] * blank.out_shape[2])
    return _with_values(blank, weight, per_row)


def local_matrix(
    weight: torch.Tensor,
    in_shape: tuple[int, int, int],
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    bias: torch.Tensor | None = None,
) -> ConvMatrix:
    """The unrolled matrix of a locally connected layer: weight [positions, O, C*k*k], bias [O, H_out, W_out]."""
    if weight.dim() != 3 or weight.shape[2] != in_shape[0] * kernel * kernel:
        expected = f"[positions, O, {in_shape[0]}*{kernel}*{kernel}]"
        raise ValueError(f"expected a local weight {expected}, got {list(weight.shape)}")
    blank = conv_pattern(in_shape, weight.shape[1], kernel, stride, padding, local=True)
    positions = blank.out_shape[1] * blank.out_shape[2]
    if weight.shape[0] != positions:
        raise ValueError(f"weight has {weight.shape[0]} positions, the {in_shape} input gives {positions}")
    per_row = bias.detach().cpu().flatten() if bias is not None else None
    return _with_values(blank, weight, per_row)


def _with_values(blank: ConvMatrix, weight: torch.Tensor, per_row: torch.Tensor | None) -> ConvMatrix:
    import torch

    flat = weight.detach().cpu().flatten()
    values = torch.cat([flat.new_zeros(1), flat])[torch.tensor(blank.pattern)]
    return ConvMatrix(blank.in_shape, blank.out_shape, blank.pattern, values, per_row, blank.local)


def layer_matrix(
    spec: Spec,
    index: int | None = None,
    model: nn.Sequential | None = None,
    in_shape: tuple[int, ...] | None = None,
    seed: int = 0,
) -> ConvMatrix | str:
    """The conv (or local layer) at `index` in `spec` (default the first) as a matrix, or a one-line message why not.

    The input defaults to the layer's own channels (as the budget infers them) on a
    5x5 image, small enough to read. Weights are `model`'s when given (built from
    `spec`), else those of a fresh layer with PyTorch's default init under `seed`.
    A local layer's weights exist for one input size, so with a model its input is
    the one the layer has in the network.
    """
    convs = [i for i, layer in enumerate(spec.layers) if layer.kind in CONVS]
    if not convs:
        return "the architecture has no conv layer"
    if index is None:
        index = convs[0]
    where = ", ".join(map(str, convs))
    if not 0 <= index < len(spec.layers):
        return f"there is no layer {index} (conv layers are at {where})"
    layer = spec.layers[index]
    if layer.kind not in CONVS:
        return f"layer {index} ({layer.line()}) is not a conv (conv layers are at {where})"
    row = budget_of(spec).rows[index]
    if row.in_shape is None:
        return f"layer {index} ({layer.line()}) has no input shape: an earlier layer does not fit"
    if len(row.in_shape) != 3:
        return f"layer {index} ({layer.line()}): {row.error}"
    channels = row.in_shape[0]
    k, s, p, out = layer.kernel, layer.stride, layer.padding, layer.out
    assert k is not None and s is not None and p is not None and out is not None
    side = max(DEFAULT_MATRIX_SIZE, k)
    local = layer.kind == "local"
    if local and model is not None:
        if in_shape is not None and tuple(in_shape) != row.in_shape:
            own = format_shape(row.in_shape)
            return f"layer {index} ({layer.line()}) has weights for its {own} input only"
        in_shape = row.in_shape
    if in_shape is None:
        in_shape = (channels, side, side)
    elif len(in_shape) != 3 or in_shape[0] != channels:
        got, hint = format_shape(in_shape), f"{channels}x{side}x{side}"
        return f"layer {index} ({layer.line()}) takes {channels} input channels: try {hint}, not {got}"
    problem = _matrix_problem(in_shape, out, k, s, p)
    if problem:
        return f"layer {index} ({layer.line()}): {problem}"
    shape3 = (in_shape[0], in_shape[1], in_shape[2])
    if model is not None:
        conv = _conv_module(model, index, local)
    else:
        conv = _fresh_conv(shape3, out, k, s, p, layer.bias, seed, local)
    positions = out_size(shape3[1], k, s, p) * out_size(shape3[2], k, s, p)
    expected = (positions, out, channels * k * k) if local else (out, channels, k, k)
    if tuple(conv.weight.shape) != expected:
        raise ValueError(f"model layer {index} has weights {list(conv.weight.shape)}, not those of {layer.line()}")
    if local:
        return local_matrix(conv.weight, shape3, k, s, p, conv.bias)
    return conv_matrix(conv.weight, shape3, s, p, conv.bias)


def _conv_module(model: nn.Sequential, index: int, local: bool = False) -> nn.Module:
    from torch import nn

    from ..architecture.local import LocallyConnected2d

    module = model[index]
    cls = LocallyConnected2d if local else nn.Conv2d
    if not isinstance(module, cls):
        raise ValueError(
            f"model layer {index} is {type(module).__name__}, not {cls.__name__}: was it built from this spec?"
        )
    return module


def _fresh_conv(
    in_shape: tuple[int, int, int], o: int, k: int, s: int, p: int, bias: bool, seed: int, local: bool = False
) -> nn.Module:
    """A conv (or local layer) with its default init under `seed`, from a generator of its own (not the global one)."""
    import torch
    from torch import nn

    from ..architecture.init import initialise
    from ..architecture.local import LocallyConnected2d

    c = in_shape[0]
    with torch.device("meta"):
        if local:
            layer: nn.Module = LocallyConnected2d(c, o, in_shape[1:], k, stride=s, padding=p, bias=bias)
        else:
            layer = nn.Conv2d(c, o, k, stride=s, padding=p, bias=bias)
    layer.to_empty(device="cpu")
    initialise(layer, torch.Generator().manual_seed(seed))
    return layer


# The seed's own example: a 2x2 kernel sliding over a 3x3 image is a 4x9 matrix.
SEED_EXAMPLE = "conv 1 k2 p0"


SEED_INPUT = (1, 3, 3)


def seed_matrix(seed: int = 0) -> ConvMatrix:
    """The seed's 4x9 matrix, with the weights of a fresh 2x2 conv under `seed`."""
    from ..architecture.spec import parse_line

    spec = parse_line(SEED_EXAMPLE, input_shape=SEED_INPUT)
    assert isinstance(spec, Spec), spec
    matrix = layer_matrix(spec, 0, in_shape=SEED_INPUT, seed=seed)
    assert isinstance(matrix, ConvMatrix), matrix
    return matrix


@dataclass(frozen=True)
class MatrixCell:
    """What one cell of an unrolled matrix connects, and which weight (if any) it holds."""

    out: tuple[int, int, int]  # the output unit of its row: (channel, y, x)
    inp: tuple[int, int, int]  # the input pixel of its column: (channel, y, x)
    weight: tuple[int, int, int, int] | None  # (out, in, i, j) in the kernel, None for a structural zero
    uses: int  # cells holding that same weight (0 for a structural zero)


def matrix_cell(m: ConvMatrix, row: int, col: int, kernel: int) -> MatrixCell:
    """Cell (row, col) of `m` (a conv with a kernel x kernel window) named: unit, pixel, weight, repeats."""
    rows_, cols = m.shape
    if not (0 <= row < rows_ and 0 <= col < cols):
        raise ValueError(f"no cell ({row}, {col}) in a {rows_}x{cols} matrix")
    _, ho, wo = m.out_shape
    c, h, w = m.in_shape
    out = (row // (ho * wo), row // wo % ho, row % wo)
    inp = (col // (h * w), col // w % h, col % w)
    index = m.pattern[row][col]
    if not index:
        return MatrixCell(out, inp, None, 0)
    oc, j = divmod(index - 1, kernel)
    oc, i = divmod(oc, kernel)
    o, ci = divmod(oc, c)
    if m.local:  # o counted positions too: the weight is (position, o, ci, i, j), the position the row's
        o %= m.out_shape[0]
    return MatrixCell(out, inp, (o, ci, i, j), sum(r.count(index) for r in m.pattern))
