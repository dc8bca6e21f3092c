"""What a lesson view is handed: a small frozen value built by the main screen, never the screen itself.

A view reads the spec, the dataset and the stores from it, and the latest weights through
one function; a view that changes the architecture returns the new `Spec` through
`dismiss`, and the main screen applies it (undoably); the runs view returns a `Continue`
to have the Training pane continue a run. So no screen imports the main screen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...architecture.spec import Spec
    from ...experiments.run import Continuation
    from ...store.runs import EpochMetrics
    from ...training.config import TrainConfig
    from ..messages import WeightSnapshot


@dataclass(frozen=True)
class LessonContext:
    spec: Spec  # the architecture on the main screen
    dataset: str
    data_dir: str | None
    runs_dir: str | None
    show_volatile: bool  # False masks what differs between identical runs (snapshots)
    seed: int  # the Training pane's seed: initial weights are drawn with it
    latest_run_id: str | None  # the Training pane's last run, once it has ended
    training: Callable[[], bool]  # whether a run is going in the Training pane now (none can be continued then)
    weights: Callable[[], WeightSnapshot | None]  # the spec's latest weights (live or final), or None
    # The Training pane's settings, for a view that trains (the ladder): its config, seeds and torch threads.
    config: TrainConfig | None = None
    seeds: int = 1
    torch_threads: int | None = None


@dataclass(frozen=True)
class Continue:
    """A view's answer: continue this checked run in the Training pane, its architecture in the editor."""

    spec: Spec
    continuation: Continuation
    metrics: tuple[EpochMetrics, ...]  # the epochs done so far, drawn before the new ones arrive
