"""Receptive fields: how much of the image one unit of each layer sees. Pure Python, no torch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..architecture.budget import budget_of
from ..architecture.spec import CONVS, POOLS, Spec


@dataclass(frozen=True)
class RFRow:
    """What one unit of a layer sees of the input image."""

    index: int
    kind: str
    spec: str
    rf: int  # side of the receptive field in input pixels (padding included, before clipping)
    jump: int  # input pixels between neighbouring units: the product of strides so far
    start: float  # input pixel (0-based) at the centre of the first unit's field; may be negative or halfway
    coverage: float  # share of the image the best-placed unit of the layer sees (its field clipped): 0..1
    whole: bool = False  # from the first flatten or linear on: every unit sees the whole input


def receptive_fields(spec: Spec, input_shape: tuple[int, ...] | None = None) -> list[RFRow]:
    """Receptive field, jump, start and coverage of each layer, stopping before the first shape error.

    Convs and pools follow rf += (k-1)*jump, start += ((k-1)/2 - p)*jump, jump *= s;
    activations, bn and dropout pass through. Coverage is the largest share of the
    image one unit's clipped field holds: rf**2/(H*W) alone would claim a whole image
    for units whose field hangs off its edge. From the first flatten or linear on, rf
    is the whole input (its longer side), coverage 1.0, and jump and start carry over.
    """
    budget = budget_of(spec, input_shape)
    shape = budget.input_shape
    h, w = (shape[1], shape[2]) if len(shape) == 3 else (1, shape[0])
    rf, jump, start, whole = 1, 1, 0.0, len(shape) != 3
    out: list[RFRow] = []
    for layer, row in zip(spec.layers, budget.rows, strict=True):
        if row.error or row.out_shape is None:
            break
        if layer.kind in ("flatten", "linear"):
            whole = True
        if whole:
            rf = max(h, w)
        elif layer.kind in (*CONVS, *POOLS):
            k, s, p = layer.kernel, layer.stride, layer.padding
            assert k is not None and s is not None and p is not None
            start += ((k - 1) / 2 - p) * jump
            rf += (k - 1) * jump
            jump *= s
        if whole:
            coverage = 1.0
        else:
            units_y, units_x = row.out_shape[1:]
            coverage = _best_span(start, jump, rf, units_y, h) * _best_span(start, jump, rf, units_x, w) / (h * w)
        out.append(RFRow(row.index, row.kind, row.spec, rf, jump, start, coverage, whole))
    return out


def _first_pixel(start: float, jump: int, rf: int, unit: int) -> int:
    """The input pixel where a unit's field begins (it may lie in the padding, below 0)."""
    # A whole number always: start and (rf-1)/2 share their halves.
    return round(start + unit * jump - (rf - 1) / 2)


def _best_span(start: float, jump: int, rf: int, units: int, size: int) -> int:
    """The most pixels along one side of the image that a single unit's field covers."""
    spans = (min(lo + rf, size) - max(lo, 0) for lo in (_first_pixel(start, jump, rf, u) for u in range(units)))
    return max(spans)


def input_region(
    fields: list[RFRow], layer_index: int, unit_y: int, unit_x: int, input_hw: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The input box (y0, x0, y1, x1), half-open and clipped to the image, that one unit sees.

    This is the box to highlight over a digit. With strides larger than kernels the
    field has holes; the box is its bounding box.
    """
    row = next((r for r in fields if r.index == layer_index), None)
    if row is None:
        raise ValueError(f"no receptive field for layer {layer_index}")
    h, w = input_hw
    if row.whole:
        return 0, 0, h, w
    y0 = _first_pixel(row.start, row.jump, row.rf, unit_y)
    x0 = _first_pixel(row.start, row.jump, row.rf, unit_x)
    top, left = min(max(y0, 0), h), min(max(x0, 0), w)
    return top, left, max(min(y0 + row.rf, h), top), max(min(x0 + row.rf, w), left)


def region_origins(region: tuple[int, int, int, int], width: int, permutation: Sequence[int]) -> list[tuple[int, int]]:
    """Where the pixels of a box (y0, x0, y1, x1) of a shuffled image sit in the digit before the shuffle.

    Pixel i (row-major) of a shuffled image is pixel permutation[i] of the original
    (`training.transforms.permute`), so a unit's tidy box on what the network sees is
    a scatter of (row, column)s over the digit: a conv's neighbours are no longer the
    digit's neighbours.
    """
    y0, x0, y1, x1 = region
    return [divmod(int(permutation[y * width + x]), width) for y in range(y0, y1) for x in range(x0, x1)]
