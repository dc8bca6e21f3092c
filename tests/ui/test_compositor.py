"""The region-by-region compositor: the same screen as Textual's, from fewer widgets' renders."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console
from rich.control import ControlType
from rich.segment import Segment
from textual._compositor import Compositor
from textual.geometry import Region
from textual.widgets._footer import FooterKey

from tui_cnn.ui.compositor import RegionCompositor, crops_of
from tui_cnn.ui.panes.architecture import LayerList

from . import apps

WIDE = (120, 40)


def painted(update, size: tuple[int, int]) -> dict[tuple[int, int], tuple[str, object]]:  # noqa: ANN001
    """What a partial update writes to a terminal: each cell it sets, with its character and style."""
    console = Console(file=io.StringIO(), width=size[0], height=size[1], force_terminal=True)
    cells: dict[tuple[int, int], tuple[str, object]] = {}
    x = y = 0
    for segment in update.__rich_console__(console, console.options):
        assert isinstance(segment, Segment)
        for code in segment.control or ():
            if code[0] == ControlType.CURSOR_MOVE_TO:
                x, y = code[1], code[2]
        if segment.control or segment.text == "\n":
            continue
        for char in segment.text:
            cells[x, y] = (char, segment.style)
            x += 1
    return cells


def test_crops_join_overlapping_regions_and_regions_on_the_same_rows() -> None:
    keys = {Region(0, 39, 9, 1), Region(22, 39, 8, 1), Region(108, 39, 12, 1)}
    pane, inside = Region(36, 1, 84, 18), Region(38, 3, 20, 4)
    assert crops_of(keys) == [Region(0, 39, 120, 1)]
    assert crops_of({pane, inside}) == [pane]
    assert sorted(crops_of({pane, Region(0, 19, 50, 20)})) == sorted([pane, Region(0, 19, 50, 20)])


async def test_a_pane_switchs_update_paints_the_same_cells_as_textuals(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await apps.initial_weights_drawn(pilot)
        await pilot.press("2", "3")
        await pilot.pause()
        screen = app.main
        compositor = screen._compositor
        assert isinstance(compositor, RegionCompositor)
        keys = [k for k in screen.query(FooterKey) if k.display and k.parent.display]
        changed = [screen.query_one("#budget"), screen.query_one("#training"), screen.query_one("#pane-bar"), *keys]
        shown = compositor.visible_widgets
        regions = {shown[w][0].intersection(shown[w][1]) for w in changed}
        assert len(crops_of(regions)) > 1
        for widgets in (changed, changed[:1], changed[1:2] + keys):
            wanted = {shown[w][0].intersection(shown[w][1]) for w in widgets}
            compositor._dirty_regions.update(wanted)
            textuals = Compositor.render_partial_update(compositor)
            compositor._dirty_regions.update(wanted)
            ours = compositor.render_partial_update()
            assert painted(ours, WIDE) == painted(textuals, WIDE)
            assert len(painted(ours, WIDE)) >= sum(r.area for r in wanted) // 2


async def test_a_pane_switch_leaves_the_panes_it_does_not_touch_unrendered(tmp_path: Path, monkeypatch) -> None:
    app = apps.make_app(tmp_path)
    rendered: list[str] = []
    async with app.run_test(size=WIDE) as pilot:
        await apps.initial_weights_drawn(pilot)
        await pilot.press("2", "3")
        await pilot.pause()
        render_lines = LayerList.render_lines

        def counted(self, crop):  # noqa: ANN001 - Textual's own signature
            rendered.append(type(self).__name__)
            return render_lines(self, crop)

        monkeypatch.setattr(LayerList, "render_lines", counted)
        for key in "2323":
            await pilot.press(key)
            await pilot.pause()
    assert rendered == []
