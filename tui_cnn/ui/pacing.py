"""Live redraws that give way while the UI takes more than its share of the process's CPU.

The panes redraw new training data at most twice a second. On a fast box that is 2% of the
CPU the process uses; on a small one (half a core) the same work was 7% of what training
could have had. So a pane asks its pacer at each tick: while the UI thread, since the last
redraw, used more than `SHARE` of the process's CPU time, the redraw waits for a later
tick (never longer than `LONGEST_S`), and the curves move once a second instead of twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHARE = 0.04  # of the process's CPU time, for the UI thread (its redraws, paints and messages)
LONGEST_S = 2.0  # a redraw that waits never waits longer than this


class Pacer:
    """Says, at each of a pane's redraw ticks, whether to redraw now; call from the UI thread."""

    def __init__(
        self,
        share: float = SHARE,
        longest_s: float = LONGEST_S,
        clock: Callable[[], float] = time.perf_counter,
        ui_time: Callable[[], float] = time.thread_time,
        process_time: Callable[[], float] = time.process_time,
    ) -> None:
        self.share, self.longest_s = share, longest_s
        self._clock, self._ui_time, self._process_time = clock, ui_time, process_time
        self._since: tuple[float, float, float] | None = None  # (wall, UI, process) at the last redraw

    def due(self) -> bool:
        """Whether to redraw now; if so, the window starts again from now."""
        now = (self._clock(), self._ui_time(), self._process_time())
        last = self._since
        if last is not None:
            wall, ui, process = (a - b for a, b in zip(now, last, strict=True))
            if wall < self.longest_s and process > 0 and ui / process > self.share:
                return False
        self._since = now
        return True
