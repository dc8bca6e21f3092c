"""Rich text and segment helpers for the widgets that build their own lines (Line API)."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.text import Text


def text_segments(text: Text, console: Console) -> list[Segment]:
    """One line of text as segments, keeping its own style (`Text.render` drops it when there are no spans)."""
    if not text.spans:
        return [Segment(text.plain, console.get_style(text.style) if text.style else None)]
    return list(text.render(console))


class SegmentLines:
    """Pre-built segment lines as a rich renderable."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()
