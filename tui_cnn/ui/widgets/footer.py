"""A Footer that keeps the keys it has shown and switches between them.

Textual's Footer recomposes (removes its keys and mounts new ones, each styled and
laid out anew) whenever the screen's bindings may have changed: on every focus
change, twice per pane switch. Measured on one core of a 2-core EPYC while idle, a
pane switch cost 76 ms of the event loop, 35 ms of it the footer's rebuild and the
layout and repaint it causes. This one composes each set of keys once, keeps it
hidden when another is shown, and shows it again by a display switch: a layout pass,
no mounting, no restyling; `show_kept` does it in the frame that moved the focus.
"""

from __future__ import annotations

from typing import Any

from textual.compose import compose
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter

KEPT_SETS = 8  # sets of keys kept (a few per pane: the keys differ by focus and by what is enabled)


class Footer(TextualFooter):
    """Textual's Footer, showing a set of keys it composed before without rebuilding it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sets: dict[object, list[Widget]] = {}  # the top-level children of each set, oldest first
        self._shown: object = None

    def shown_keys(self) -> object:
        """Everything `compose` reads, as one comparable value (None before the bindings are ready)."""
        if not self._bindings_ready:
            return None
        app = self.app
        keys = tuple(
            (b.key, app.get_key_display(b), b.description, b.action, b.group, b.show, enabled, tooltip)
            for _, b, enabled, tooltip in self.screen.active_bindings.values()
        )
        return keys, self.compact, self.show_command_palette, self.combine_groups

    def show_kept(self) -> bool:
        """Show the keys the bindings call for now, if they are a kept set: in the frame that
        changed focus, instead of one or two frames later. False: `recompose` must build them."""
        wanted = self.shown_keys()
        if wanted != self._shown and wanted in self._sets:
            self._switch(wanted)
        return wanted == self._shown

    def _switch(self, wanted: object) -> None:
        for widget in self._sets.get(self._shown, ()):
            widget.display = False
        kept = self._sets.pop(wanted)
        for widget in kept:
            widget.display = True
        self._sets[wanted] = kept  # the most recently shown last
        self._shown = wanted

    async def recompose(self) -> None:
        if not self.is_attached or self._pruning:
            return
        wanted = self.shown_keys()
        if wanted == self._shown:
            return
        if wanted in self._sets:
            self._switch(wanted)
            return
        shown, self._shown = self._shown, wanted
        async with self.batch():
            for widget in self._sets.get(shown, ()):
                widget.display = False
            if len(self._sets) >= KEPT_SETS:
                await self.remove_children(self._sets.pop(next(iter(self._sets))))
            kept = list(compose(self))
            self._sets[wanted] = kept
            await self.mount_all(kept)
