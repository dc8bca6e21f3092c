"""Where the weights a lesson view shows come from, said in a few words."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..messages import WeightSnapshot


def weights_source(
    snap: WeightSnapshot | None, fresh: str = "a fresh model (seed 0)", how: str = "t on the main screen"
) -> str:
    """Where the weights a view shows come from, in a few words; `how` says how to train some."""
    if snap is None:
        return f"{fresh}: no trained weights for this architecture yet ({how} trains it)"
    if snap.final:
        return f"trained weights (after {snap.epoch} epoch{'s' if snap.epoch != 1 else ''})"
    return f"live weights: epoch {snap.epoch} step {snap.step}"
