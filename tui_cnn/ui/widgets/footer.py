"""A Footer that draws a set of keys it has shown before as one line, with no widgets and no layout.

Textual's Footer recomposes (removes its keys and mounts new ones, each styled and laid
out anew) whenever the screen's bindings may have changed: on every focus change, twice
per pane switch. Keeping each set's widgets and switching their `display` (this module's
first form) still cost a layout pass of the whole screen and some 80 messages a switch:
9.5 of a switch's 25 ms of event-loop CPU on one core of a 2-core Xeon, idle.

So the first time a set of keys shows, Textual's own widgets draw it; once they have
painted, the footer keeps the line they drew (each widget's own rendered strip, laid over
the footer's, as the compositor lays them) and removes them. Showing that set again is a
repaint of one line. While the mouse is over the footer the widgets come back, so hover,
tooltips and clicks are Textual's. A set's line is kept per width and theme.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from textual import events
from textual.compose import compose
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

KEPT_SETS = 8  # lines kept (a few per pane: the keys differ by focus and by what is enabled)


@dataclass(frozen=True)
class Kept:
    """A set of keys as its widgets drew it, and where each key was, for a click on the line."""

    line: Strip
    keys: tuple[tuple[int, int, str, bool], ...]  # (start, end) cells, the key and whether it is enabled


class Footer(TextualFooter):
    """Textual's Footer, drawing a set of keys it has drawn before from the line it kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines: OrderedDict[object, Kept] = OrderedDict()  # kept lines by `_line_key`, oldest first
        self._shown: object = None  # the keys shown now (`shown_keys`)
        self._widgets: list[Widget] = []  # the top-level children drawing them, if Textual's widgets do
        self._pointer = False  # the mouse is over the footer: Textual's widgets draw it

    def on_mount(self) -> None:
        super().on_mount()
        self.app.theme_changed_signal.subscribe(self, self._draw_anew)

    def shown_keys(self) -> object:
        """Everything `compose` reads, as one comparable value (None before the bindings are ready).

        The keys it shows and the palette's key only: a hidden key that is enabled or disabled
        (t, space and x, when a run starts or ends) changes nothing drawn.
        """
        if not self._bindings_ready:
            return None
        app = self.app
        palette = app.COMMAND_PALETTE_BINDING
        keys = tuple(
            (b.key, app.get_key_display(b), b.description, b.action, b.group, enabled, tooltip)
            for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items()
            if b.show or key == palette
        )
        return keys, self.compact, self.show_command_palette, self.combine_groups

    def drawn_from_line(self) -> bool:
        """Whether the footer shows a kept line now, not Textual's widgets."""
        return not self._widgets and self._line_key(self._shown) in self._lines

    def show_kept(self) -> bool:
        """Show the keys the bindings call for now, if their line is kept: in the frame that
        changed focus, instead of one or two frames later. False: `recompose` must build them."""
        wanted = self.shown_keys()
        if wanted == self._shown or self._pointer or self._line_key(wanted) not in self._lines:
            return wanted == self._shown
        if self._widgets:  # they must go first: not in this frame
            self.call_later(self._show_line, wanted)
            return False
        self._shown = wanted
        self._lines.move_to_end(self._line_key(wanted))
        self.refresh()
        return True

    async def recompose(self) -> None:
        if not self.is_attached or self._pruning:
            return
        wanted = self.shown_keys()
        if wanted == self._shown and (self._widgets or self.drawn_from_line()):
            return
        if not self._pointer and self._line_key(wanted) in self._lines:
            await self._show_line(wanted)
            return
        await self._show_widgets(wanted)

    async def _show_line(self, wanted: object) -> None:
        """Draw `wanted` from its kept line: its widgets, if any, go (one layout), then a repaint."""
        if self._pointer or self._line_key(wanted) not in self._lines or wanted != self.shown_keys():
            return  # meanwhile the mouse came back, the line went or the keys moved on: the widgets stay
        self._shown = wanted
        self._lines.move_to_end(self._line_key(wanted))
        if self._widgets:
            widgets, self._widgets = self._widgets, []
            await self.remove_children(widgets)
        self.refresh()

    async def _show_widgets(self, wanted: object) -> None:
        """Textual's widgets draw `wanted`; once they have painted, their line is kept (unless the mouse is here)."""
        self._shown = wanted
        async with self.batch():
            if self._widgets:
                await self.remove_children(self._widgets)
            self._widgets = list(compose(self))
            await self.mount_all(self._widgets)
        self.call_after_refresh(self._keep_line, wanted)

    def _keep_line(self, wanted: object) -> None:
        if wanted != self._shown or not self._widgets or self._pointer or not self.is_attached:
            return
        line = self._drawn_line()
        if line is None:
            return
        x = self.region.x
        keys = tuple(
            (k.region.x - x, k.region.right - x, k.key, not k._disabled) for k in self.query(FooterKey) if k.region
        )
        self._lines[self._line_key(wanted)] = Kept(line, keys)
        while len(self._lines) > KEPT_SETS:
            self._lines.popitem(last=False)
        self.call_later(self._show_line, wanted)

    def _drawn_line(self) -> Strip | None:
        """The footer's row as its widgets draw it: each one's own strip over its parent's, in DOM order."""
        width = self.size.width
        region = self.region
        if not width or region.height != 1:
            return None
        line = self._line_of(self, region, width)
        for widget in self.walk_children(with_self=False):
            if not widget.display or not widget.region:
                continue
            part = widget.region.intersection(region)
            if not part:
                continue
            strip = self._line_of(widget, part, part.width)
            x = part.x - region.x
            line = Strip.join([line.crop(0, x), strip, line.crop(x + part.width, width)])
        return line

    @staticmethod
    def _line_of(widget: Widget, part: Region, width: int) -> Strip:
        """`widget`'s own rendered strip for the screen cells `part` (one row), from its styles cache."""
        crop = Region(part.x - widget.region.x, part.y - widget.region.y, width, 1)
        return Widget.render_lines(widget, crop)[0]

    def _line_key(self, keys: object) -> object:
        return keys, self.size.width, self.app.theme

    def _kept(self) -> Kept | None:
        return self._lines.get(self._line_key(self._shown)) if not self._widgets else None

    def render_lines(self, crop: Region) -> list[Strip]:
        kept = self._kept()
        if kept is None:
            return super().render_lines(crop)
        return [kept.line.crop(crop.x, crop.right)] * crop.height

    def on_mouse_down(self, event: events.MouseDown) -> None:
        """A click on a key of the line (one too quick for its widgets to come back): as FooterKey's."""
        kept = self._kept()
        if kept is None:
            return
        for start, end, key, enabled in kept.keys:
            if start <= event.x < end:
                if enabled:
                    self.app.simulate_key(key)
                else:
                    self.app.bell()
                return

    def _draw_anew(self, *_: object) -> None:
        """A new width or theme: the line is drawn by the widgets again (its key misses the kept ones)."""
        if not self._widgets and self._shown is not None:
            self.call_after_refresh(self.recompose)

    on_resize = _draw_anew

    async def on_enter(self, _event: events.Enter) -> None:
        """The mouse came in: Textual's widgets take over, for hover, tooltips and clicks."""
        if not self._pointer:
            self._pointer = True
            if not self._widgets and self._shown is not None:
                await self._show_widgets(self._shown)

    def on_leave(self, _event: events.Leave) -> None:
        if self._pointer and not self.is_mouse_over:
            self._pointer = False
            self.call_after_refresh(self._keep_line, self._shown)
