"""The parameter budget: shapes, parameters, multiply-adds and dense equivalents.

Pure arithmetic over a `Spec` (no torch), so it runs on every keystroke in the
editor and on specs far too large to build. Rows are data; the CLI, the app and the
tests format or check the same rows. Shape errors are rows too: the first impossible
layer carries its reason and the layers after it have no shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .spec import ACTIVATIONS, CONVS, POOLS, Layer, Spec, format_shape

# A model past these would not fit in memory anywhere this tool runs; refuse it
# before anyone tries to allocate it.
MAX_PARAMS = 500_000_000
MAX_ACTIVATIONS = 10_000_000  # values per sample in one layer's output: 2.5 GB a batch of 64


@dataclass(frozen=True)
class Row:
    """One layer's line in the budget."""

    index: int
    kind: str
    spec: str
    in_shape: tuple[int, ...] | None
    out_shape: tuple[int, ...] | None
    params: int = 0
    weights: int = 0  # params without the bias
    macs: int = 0
    dense_equiv: int | None = None  # weights of a dense layer with the same in/out sizes
    error: str | None = None

    @property
    def activations(self) -> int:
        return math.prod(self.out_shape) if self.out_shape else 0

    @property
    def sharing(self) -> float | None:
        """How many times fewer parameters than the dense equivalent (weight sharing)."""
        if self.dense_equiv is None or not self.params:
            return None
        return self.dense_equiv / self.params


@dataclass(frozen=True)
class Budget:
    input_shape: tuple[int, ...]
    rows: tuple[Row, ...]

    @property
    def error(self) -> Row | None:
        return next((r for r in self.rows if r.error), None)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def out_shape(self) -> tuple[int, ...] | None:
        if not self.ok:
            return None
        return self.rows[-1].out_shape if self.rows else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(r.macs for r in self.rows)

    @property
    def total_dense_equiv(self) -> int:
        return sum(r.dense_equiv or 0 for r in self.rows)

    def to_json(self) -> dict:
        return {
            "input": list(self.input_shape),
            "layers": [
                {
                    "index": r.index,
                    "kind": r.kind,
                    "spec": r.spec,
                    "out_shape": list(r.out_shape) if r.out_shape else None,
                    "params": r.params,
                    "macs": r.macs,
                    "activations": r.activations,
                    "dense_equiv": r.dense_equiv,
                    "error": r.error,
                }
                for r in self.rows
            ],
            "total_params": self.total_params,
            "total_macs": self.total_macs,
            "ok": self.ok,
            "error": self.error.error if self.error else None,
        }


def out_size(size: int, k: int, s: int, p: int) -> int:
    """The output side of a conv or pool window of `k` with stride `s` and padding `p`."""
    return (size + 2 * p - k) // s + 1


def kernel_problem(h: int, w: int, k: int, p: int) -> str | None:
    """Why a `k`x`k` window cannot slide over an `h`x`w` input padded by `p`, or None."""
    if k > h + 2 * p or k > w + 2 * p:
        return f"kernel {k}x{k} is larger than the {h}x{w} input with padding {p}"
    return None


def layer_row(index: int, layer: Layer, shape: tuple[int, ...]) -> Row:
    """The row for `layer` applied to a per-sample tensor of `shape`."""
    kind, text = layer.kind, layer.line()

    def fail(reason: str) -> Row:
        return Row(index, kind, text, shape, None, error=reason)

    n_in = math.prod(shape)
    if kind in (*CONVS, *POOLS):
        if len(shape) != 3:
            return fail(f"{kind} needs a CxHxW input, got {format_shape(shape)} (is there a flatten before it?)")
        c, h, w = shape
        k, s, p = layer.kernel, layer.stride, layer.padding
        assert k is not None and s is not None and p is not None
        problem = kernel_problem(h, w, k, p)
        if problem:
            return fail(problem)
        out_c = layer.out if kind in CONVS else c
        assert out_c is not None
        out = (out_c, out_size(h, k, s, p), out_size(w, k, s, p))
        if kind not in CONVS:
            return Row(index, kind, text, shape, out)
        n_out = math.prod(out)
        # A conv shares one kernel (and bias) per output channel; a local layer has one per output unit.
        kernels = n_out if kind == "local" else out_c
        weights = kernels * c * k * k
        params = weights + (kernels if layer.bias else 0)
        return Row(index, kind, text, shape, out, params, weights, n_out * c * k * k, n_in * n_out)
    if kind == "linear":
        if len(shape) != 1:
            return fail(f"linear needs flat features, got {format_shape(shape)} (add a flatten before it)")
        assert layer.out is not None
        weights = shape[0] * layer.out
        params = weights + (layer.out if layer.bias else 0)
        return Row(index, kind, text, shape, (layer.out,), params, weights, weights, weights)
    if kind == "flatten":
        return Row(index, kind, text, shape, (n_in,))
    if kind == "bn":
        # BatchNorm2d/1d: a scale and a shift per channel; running stats are buffers.
        params = 2 * shape[0]
        return Row(index, kind, text, shape, shape, params, shape[0], n_in)
    if kind in ACTIVATIONS or kind == "dropout":
        return Row(index, kind, text, shape, shape)
    raise ValueError(f"unknown layer kind {kind!r}")


def _size_problem(out: tuple[int, ...], total_params: int) -> str | None:
    """Why a layer's output (or the model so far) is too small or too large to build, or None."""
    if any(d < 1 for d in out):
        return f"output collapses to {format_shape(out)}"
    if math.prod(out) > MAX_ACTIVATIONS:
        return f"output {format_shape(out)} is too large ({math.prod(out):,} values a sample)"
    if total_params > MAX_PARAMS:
        return f"model would exceed {MAX_PARAMS:,} parameters"
    return None


def budget_of(spec: Spec, input_shape: tuple[int, ...] | None = None) -> Budget:
    """The budget of `spec` on `input_shape` (default the spec's own)."""
    shape = tuple(input_shape or spec.input_shape)
    out: list[Row] = []
    current: tuple[int, ...] | None = shape
    total = 0
    for i, layer in enumerate(spec.layers):
        if current is None:
            out.append(Row(i, layer.kind, layer.line(), None, None))
            continue
        row = layer_row(i, layer, current)
        if row.error is None:
            assert row.out_shape is not None
            total += row.params
            problem = _size_problem(row.out_shape, total)
            if problem:
                row = Row(i, row.kind, row.spec, current, None, error=problem)
        out.append(row)
        current = row.out_shape
    return Budget(shape, tuple(out))


def check_trainable(budget: Budget, num_classes: int) -> str | None:
    """Why this budget's model cannot be trained as a classifier, or None."""
    if budget.error:
        return f"layer {budget.error.index} ({budget.error.spec}): {budget.error.error}"
    if not budget.rows:
        return "the architecture has no layers"
    if budget.total_params == 0:
        return "the architecture has no trainable parameters"
    out = budget.out_shape
    if out != (num_classes,):
        got = format_shape(out)
        hint = " (end with flatten)" if out and len(out) == 3 and math.prod(out) == num_classes else ""
        return f"the output is {got}, but the dataset has {num_classes} classes: end with {num_classes} features{hint}"
    return None
