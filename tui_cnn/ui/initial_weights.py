"""The weights a run starts from, drawn before any run so the panes can show them.

`tui_cnn.architecture.init.initial_model` is what the trainer builds its model with, from a generator of
its own: the kernels shown here are exactly a run's first weights for that seed, and drawing
them leaves torch's global generator (and so a run that is going) alone. It needs torch, so it
runs in a thread worker.
"""

from __future__ import annotations

from ..architecture.spec import Spec
from .messages import WeightSnapshot
from .panes.training import final_weights


def initial_snapshot(spec: Spec, seed: int) -> WeightSnapshot:
    """The conv and linear weights of `spec` as a run with `seed` initialises them (imports torch)."""
    from ..training.torch_import import import_torch

    import_torch()
    from ..architecture.init import initial_model

    state = initial_model(spec, seed).state_dict()
    return WeightSnapshot(spec, 0, 0, final_weights(state, spec), initial_seed=seed)
