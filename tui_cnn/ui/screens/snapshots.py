"""Which weights a lesson view shows: the Training pane's latest, when they fit the architecture."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..main_screen import MainScreen
    from ..messages import WeightSnapshot


def trained(main: MainScreen) -> WeightSnapshot | None:
    """The latest weights (live or final) of the architecture on the main screen, or None before any run of it."""
    snap = main.training.weights
    return snap if snap is not None and snap.spec == main.spec and snap.state_dict is not None else None


def describe(
    snap: WeightSnapshot | None, fresh: str = "a fresh model (seed 0)", how: str = "t on the main screen"
) -> str:
    """Where the weights a view shows come from, in a few words; `how` says how to train some."""
    if snap is None:
        return f"{fresh}: no trained weights for this architecture yet ({how} trains it)"
    if snap.final:
        return f"trained weights (after {snap.epoch} epoch{'s' if snap.epoch != 1 else ''})"
    return f"live weights: epoch {snap.epoch} step {snap.step}"
