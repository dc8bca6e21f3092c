"""One frame for a pane switch: repaints wait until the focus move has reached the screen.

A switch restyles the panes' borders at once, but the widgets gaining and losing focus
restyle themselves when their Focus and Blur events arrive, and the footer's keys are laid
out a message later: Textual painted that in two frames, each a pass over most of the
screen (7-10 ms on one idle core, twice that while training). Holding repaints until both
events have bubbled up to the screen paints it all at once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.timer import Timer
    from textual.widget import Widget

HOLD_S = 0.1  # repaints are held at most this long: a move whose events never come is painted anyway


class FocusFrame:
    """Holds a screen's repaints from a focus move until its Focus and Blur have arrived."""

    def __init__(self, screen: Screen) -> None:
        self._screen = screen
        self._waiting: set[tuple[str, Widget]] = set()
        self._batch: AbstractContextManager[None] | None = None
        self._timer: Timer | None = None

    def hold(self, focused: Widget, blurred: Widget | None) -> None:
        """Call just before the focus moves from `blurred` to `focused`."""
        self.release()
        self._waiting = {("focus", focused)} | ({("blur", blurred)} if blurred is not None else set())
        self._batch = self._screen.app.batch_update()
        self._batch.__enter__()
        self._timer = self._screen.set_timer(HOLD_S, self.release)

    def arrived(self, kind: str, widget: Widget) -> None:
        """A DescendantFocus ("focus") or DescendantBlur ("blur") reached the screen."""
        self._waiting.discard((kind, widget))
        if self._batch is not None and not self._waiting:
            self.release()

    def release(self) -> None:
        """Paint what is pending now (idempotent)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._waiting.clear()
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.__exit__(None, None, None)
            self._screen.check_idle()  # the widgets' updates may have arrived while held: paint them
