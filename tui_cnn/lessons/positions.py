"""A local layer's kernels, one position at a time, and how much they differ across positions.

A conv uses one kernel everywhere; a `local` layer (architecture/local.py) learns one per
output position. Its weight is (positions, out, in*k*k), positions in row-major order. The
Kernels pane shows the kernels at one position like a conv's, and a spread map: for each
kernel (out, in), how far the kernel at each position is from that kernel's mean over
positions (the root mean square of the difference). All zeros is a layer that shares after
all; a bright spot is a position that learnt something of its own. Pure numpy, so the pane
reads it from the weight snapshots it already holds.
"""

from __future__ import annotations

import numpy as np


def kernels_at(weight: np.ndarray, position: int, out: int, channels: int, kernel: int) -> np.ndarray:
    """The (out*in, k, k) kernels a conv would use at `position`, in (out, in) order."""
    positions = weight.size // (out * channels * kernel * kernel)
    if not 0 <= position < positions:
        raise IndexError(f"position {position} of {positions}")
    return weight.reshape(positions, out * channels, kernel, kernel)[position]


def position_spread(weight: np.ndarray, out_size: tuple[int, int], out: int, channels: int) -> np.ndarray:
    """(out*in, H_out, W_out): each kernel's RMS distance, at each position, from its mean over positions."""
    h, w = out_size
    kernels = weight.reshape(h * w, out * channels, -1).astype(np.float64)
    spread = np.sqrt(((kernels - kernels.mean(axis=0, keepdims=True)) ** 2).mean(axis=2))
    return spread.T.reshape(out * channels, h, w)
