"""Shifted digits: a trained model's validation accuracy with every digit moved by (dx, dy).

A convolution computes the same thing at every position, so a CNN's features move with
the digit and only its last layers, which see positions, have to cope; an MLP has learnt
one template per pixel and loses the digit as soon as it leaves them. Pixels moved in
from outside the image are background (a blank pixel after normalisation); nothing wraps
around. A run trained on shuffled pixels is probed fairly: its digits are shifted first,
then shuffled as it has always seen them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..training.transforms import permute

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..training.data import Dataset

MAX_SHIFT = 14  # half a 28-pixel digit: beyond it most of the digit has left the image
BATCH = 16384  # images a forward pass: all 81 shifts of mnist-5k's 1,000 digits in six

Shift = tuple[int, int, float]  # (dx, dy, val acc)


def shift_images(x: torch.Tensor, dx: int, dy: int, fill: float = 0.0) -> torch.Tensor:
    """Images [..., H, W] moved dx pixels right and dy down (negative: left, up); what comes in is `fill`."""
    import torch

    h, w = x.shape[-2:]
    out = torch.full_like(x, fill)
    if abs(dx) < w and abs(dy) < h:
        rows, cols = slice(max(dy, 0), h + min(dy, 0)), slice(max(dx, 0), w + min(dx, 0))
        out[..., rows, cols] = x[..., max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
    return out


def shifts(max_k: int) -> list[tuple[int, int]]:
    """Every (dx, dy) in [-K, K]^2, row by row: dy from -K (up) down, dx from -K (left) across."""
    return [(dx, dy) for dy in range(-max_k, max_k + 1) for dx in range(-max_k, max_k + 1)]


def shift_accuracy(
    model: nn.Module,
    data: Dataset,
    max_k: int,
    batch: int = BATCH,
    progress: Callable[[int, int], None] | None = None,
) -> list[Shift]:
    """(dx, dy, val acc) of `model` on the validation split shifted by every (dx, dy) in [-K, K]^2.

    The split is padded with background once and each shift is a window of it; as many
    shifts as fit in `batch` images go through the model together. The model must be in
    eval mode; it runs where its parameters are. (0, 0) is the run's own val accuracy.
    `progress(done, total)` hears of every pass (shifts done so far, of all), for a view's bar.
    """
    import torch
    import torch.nn.functional as F

    if max_k < 0:
        raise ValueError(f"the largest shift must be 0 or more, got {max_k}")
    device = next(model.parameters()).device
    x, y = data.unpermute(data.x_val).to(device), data.y_val.to(device)
    n, (h, w) = len(x), x.shape[-2:]
    k = max_k
    padded = F.pad(x, (k, k, k, k), value=data.background)
    todo = shifts(max_k)
    per_pass = max(1, batch // max(n, 1))
    correct: list[int] = []
    with torch.inference_mode():
        for start in range(0, len(todo), per_pass):
            group = todo[start : start + per_pass]
            # out[i, j] = x[i - dy, j - dx]: the window of the padding that starts k - dy rows down
            moved = torch.cat([padded[..., k - dy : k - dy + h, k - dx : k - dx + w] for dx, dy in group])
            if data.permutation is not None:
                moved = permute(moved, data.permutation)
            pred = model(moved).argmax(1).view(len(group), n)
            correct.extend((pred == y).sum(1).tolist())
            if progress is not None:
                progress(len(correct), len(todo))
    return [(dx, dy, hits / n) for (dx, dy), hits in zip(todo, correct, strict=True)]


def shifted_digit(data: Dataset, index: int, dx: int, dy: int) -> torch.Tensor:
    """Validation digit `index` [C, H, W] moved by (dx, dy) as a model trained on `data` sees it.

    The same input `shift_accuracy` gives the model for that digit: moved in the digit's
    own pixel order with background coming in, then shuffled if the set is.
    """
    moved = shift_images(data.unpermute(data.x_val[index]), dx, dy, fill=data.background)
    return moved if data.permutation is None else permute(moved, data.permutation)


def accuracy_grid(results: Sequence[Shift]) -> list[list[float]]:
    """The accuracies of a full square of shifts as rows: dy from -K (up) down, dx from -K (left) across."""
    at = {(dx, dy): acc for dx, dy, acc in results}
    k = max((max(abs(dx), abs(dy)) for dx, dy in at), default=0)
    if sorted(at) != sorted(shifts(k)):
        raise ValueError(f"{len(results)} shifts are not every (dx, dy) in one square")
    return [[at[(dx, dy)] for dx in range(-k, k + 1)] for dy in range(-k, k + 1)]


def by_distance(results: Sequence[Shift]) -> list[tuple[int, float]]:
    """(d, mean accuracy) over the shifts d pixels away, d = max(|dx|, |dy|): the square rings of the grid."""
    rings: dict[int, list[float]] = {}
    for dx, dy, acc in results:
        rings.setdefault(max(abs(dx), abs(dy)), []).append(acc)
    return [(d, sum(accs) / len(accs)) for d, accs in sorted(rings.items())]
