"""Panes that take focus themselves restyle only themselves when it moves."""

from __future__ import annotations

from textual.widget import Widget


class RestyleAloneOnFocus(Widget):
    """Textual restyles a widget and all its descendants when its focus changes; a pane's
    focus only colours its border (`.pane:focus`), so restyling the pane's every widget
    (and re-rendering them) for it was most of a pane switch's cost while training."""

    def watch_has_focus(self, _has_focus: bool) -> None:
        self.app.stylesheet.update_nodes([self], animate=True)
