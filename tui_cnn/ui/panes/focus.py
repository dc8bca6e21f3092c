"""Panes restyle only themselves when the focus moves, not every widget inside them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.widget import Widget

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode


class RestyleAloneOnFocus(Widget):
    """A pane whose focus only colours its border and title (`.pane:focus-within`, `.pane:focus`).

    Textual restyles a widget and all its descendants when its focus changes, and a new
    border-title colour repaints every widget inside the pane too (Textual's colour
    properties refresh the children: a text colour is inherited). No rule below a pane
    depends on its focus, so re-rendering its charts and tables for its border was most of
    a pane switch's cost while training (tests/ui/test_pane_switch_cost.py).
    """

    _restyling_alone = False

    def watch_has_focus(self, _has_focus: bool) -> None:
        restyle_alone(self.app, [self])

    def walk_children(self, *args: Any, **kwargs: Any) -> Any:
        """While restyled alone, no descendants: the styles' refresh then repaints the pane only."""
        if self._restyling_alone:
            return [self] if kwargs.get("with_self") else []
        return super().walk_children(*args, **kwargs)


def restyle_alone(app: App, nodes: Iterable[DOMNode]) -> None:
    """Restyle `nodes` (animated, as Textual does); panes among them repaint without their widgets."""
    nodes = list(nodes)
    panes = [node for node in nodes if isinstance(node, RestyleAloneOnFocus)]
    for pane in panes:
        pane._restyling_alone = True
    try:
        app.stylesheet.update_nodes(nodes, animate=True)
    finally:
        for pane in panes:
            pane._restyling_alone = False
