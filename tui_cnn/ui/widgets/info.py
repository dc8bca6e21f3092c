"""A Static that skips updates to what it already shows."""

from __future__ import annotations

from rich.console import RenderableType
from textual.widgets import Static


class Info(Static):
    """Each `update` of an auto-sized Static costs a layout pass of the whole screen, and panes
    redraw their text on every edit and training tick: equal content is ignored, and a widget
    given a fixed height in the stylesheet repaints without a layout."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: object = None

    def show(self, content: RenderableType) -> None:
        if content == self._shown and content is not None:
            return
        self._shown = content
        height = self.styles.height
        self.update(content, layout=height is None or height.is_auto)
