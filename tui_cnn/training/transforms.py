"""Shuffled pixels: one fixed permutation of an image's positions, and the dataset names that record it.

An MLP's first layer sees a flat vector, so reordering the pixels the same way in every
image costs it nothing (its columns can be reordered to match); a CNN assumes that
neighbouring pixels belong together, and the shuffle breaks exactly that. The
permutation is part of the dataset's name (`mnist-5k/perm1`), so the store never mixes
runs on plain and shuffled pixels. Only tensors here: `data` applies it on load.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

PERMUTED = re.compile(r"(?P<base>.+)/perm(?P<seed>0|[1-9][0-9]*)")


def permuted_name(base: str, seed: int | None) -> str:
    """The recorded name of `base` with its pixels shuffled by `seed` (`base` itself for None)."""
    if seed is None:
        return base
    if seed < 0:
        raise ValueError(f"the pixel permutation's seed must be 0 or more, got {seed}")
    return f"{base}/perm{seed}"


def split_name(name: str) -> tuple[str, int | None]:
    """(base dataset, permutation seed or None): `mnist-5k/perm1` is ('mnist-5k', 1)."""
    match = PERMUTED.fullmatch(name)
    if match is None:
        return name, None
    return match["base"], int(match["seed"])


def pixel_permutation(seed: int, pixels: int) -> torch.Tensor:
    """A permutation of range(pixels) fixed by `seed`, from a private generator (the global one is untouched)."""
    import torch

    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randperm(pixels, generator=generator)


def permute(x: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """Images [..., H, W] with pixel i of each taken from position permutation[i] (row-major)."""
    flat = x.flatten(-2)
    return flat[..., permutation.to(flat.device)].reshape(x.shape)


def unpermute(x: torch.Tensor, permutation: torch.Tensor) -> torch.Tensor:
    """The inverse of `permute`: shuffled images [..., H, W] back in their original order."""
    flat = x.flatten(-2)
    out = flat.new_empty(flat.shape)
    out[..., permutation.to(flat.device)] = flat
    return out.reshape(x.shape)
