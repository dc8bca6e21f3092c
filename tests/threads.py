"""torch's CPU thread count held at one for a block: the same sums in the same order on any core count."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one CPU thread inside, as many as before after (a test must not leave it changed)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
