"""Messages between the panes and from the training thread.

Textual mutates a message while dispatching it (forwarding, stopping), so a message
cannot itself be a frozen dataclass; each one carries frozen values instead (specs,
trainer events, weight snapshots). Progress-like messages define `can_replace`, so a
flood from the trainer coalesces into the latest one when the UI falls behind. The run's
messages that only the Training pane handles do not bubble: each hop up the DOM (grid,
screen, app) woke another message pump, three times for every step and epoch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.message import Message

from ..architecture.budget import Budget
from ..architecture.spec import Spec
from ..training.events import Ended, EpochEnd, Started, Step

if TYPE_CHECKING:
    import numpy as np
    import torch

    from ..store.groups import Spread


@dataclass(frozen=True)
class WeightSnapshot:
    """Weights as numpy arrays by layer index (converted in the training thread).

    `state_dict` is the whole model's (CPU tensors), for the views that rebuild it.
    `initial_seed` marks the weights a run with that seed starts from, drawn before any run.
    """

    spec: Spec
    step: int
    epoch: int
    arrays: Mapping[int, np.ndarray] = field(repr=False)
    final: bool = False
    state_dict: Mapping[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    initial_seed: int | None = None


@dataclass
class SpecChanged(Message):
    """The editor made a new spec current (an edit, undo, redo, preset or file), with its budget."""

    spec: Spec
    budget: Budget


@dataclass
class RunStarted(Message, bubble=False):
    event: Started


@dataclass
class RunStep(Message, bubble=False):
    """The latest step and the recent ones, so dropping an older RunStep loses no curve points.

    A group's steps are its members' means; `bands` holds their (loss, acc) min..max, one per step of `history`.
    """

    event: Step
    history: tuple[Step, ...]
    bands: tuple[tuple[Spread, Spread], ...] = ()

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunStep)


@dataclass
class RunEpoch(Message, bubble=False):
    event: EpochEnd
    bands: tuple[Spread, Spread] | None = None  # a group's (val loss, val acc) min..max over its members


@dataclass
class RunWeights(Message):
    snapshot: WeightSnapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunWeights)


@dataclass
class InitialWeights(Message):
    """A spec's weights at initialisation, drawn in a thread: what the Kernels pane shows before a run."""

    snapshot: WeightSnapshot


@dataclass
class SettingsChanged(Message):
    """The training settings changed (the seed among them): the initial weights may be other ones."""


@dataclass
class RunEnded(Message, bubble=False):
    """Exactly one per run, also for runs that failed before training began."""

    event: Ended
    run_id: str | None


@dataclass
class DeviceFound(Message):
    """The device's name, looked up off the event loop (it imports torch)."""

    label: str
