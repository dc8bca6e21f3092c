"""What a pane switch costs the event loop: which nodes it restyles, which footer keys it builds.

On one slow core a pane switch while training took 140 ms of the event loop, most of
it restyling (and so re-rendering) every widget of two panes for a border colour and
rebuilding the footer's keys twice; these tests pin the work down, not the time.
"""

from __future__ import annotations

from pathlib import Path

from textual.css.stylesheet import Stylesheet
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.widgets.budget_table import BudgetTable

from . import apps

WIDE = (120, 40)
SWITCHES = "2323"  # Budget, Training, Budget, Training


async def switch_panes(pilot, monkeypatch, cls: type, name: str, counted) -> None:  # noqa: ANN001
    """Settle after one switch each way (the footer's key sets built), then count while switching."""
    await pilot.press("2", "3")
    await pilot.pause()
    monkeypatch.setattr(cls, name, counted)
    for key in SWITCHES:
        await pilot.press(key)
        await pilot.pause()
    assert isinstance(pilot.app.focused, TrainingPane)


async def test_a_pane_switch_restyles_the_two_panes_not_their_widgets(tmp_path: Path, monkeypatch) -> None:
    app = apps.make_app(tmp_path)
    restyled: list[str] = []
    update_nodes = Stylesheet.update_nodes

    def counted(self, nodes, animate=False):  # noqa: ANN001 - Textual's own signature
        nodes = list(nodes)
        restyled.extend(type(node).__name__ for node in nodes)
        return update_nodes(self, nodes, animate)

    async with app.run_test(size=WIDE) as pilot:
        await switch_panes(pilot, monkeypatch, Stylesheet, "update_nodes", counted)
        assert app.main.query_one("#training").has_class("current")
        assert not app.main.query_one("#budget").has_class("current")
    # Per switch: the two panes (their class), the two panes again (their focus), the widget
    # gaining and the one losing focus, and the pane once more when the footer's keys change.
    assert len(restyled) <= 7 * len(SWITCHES), restyled
    assert "CurveChart" not in restyled and "ProgressBar" not in restyled


async def test_the_footer_builds_each_set_of_keys_once_and_shows_the_focused_panes(tmp_path: Path, monkeypatch) -> None:
    app = apps.make_app(tmp_path)
    built: list[str] = []
    init = FooterKey.__init__

    def counted(self, key, *args, **kwargs):  # noqa: ANN001 - Textual's own signature
        built.append(key)
        init(self, key, *args, **kwargs)

    async with app.run_test(size=WIDE) as pilot:
        await switch_panes(pilot, monkeypatch, FooterKey, "__init__", counted)
        footer = app.main.query_one(Footer)
        shown = [k.key for k in footer.query(FooterKey) if k.display and k.parent.display]
        assert shown == ["t", "space", "x", "h", "q", "question_mark", "ctrl+p"]
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.focused, BudgetTable)
        shown = [k.key for k in footer.query(FooterKey) if k.display and k.parent.display]
        assert shown == ["g", "q", "question_mark", "ctrl+p"]
    assert built == []


async def test_a_pane_switch_repaints_what_changed_not_the_whole_screen(tmp_path: Path, monkeypatch) -> None:
    from textual._compositor import Compositor

    app = apps.make_app(tmp_path)
    full: list[int] = []
    render_full_update = Compositor.render_full_update

    def counted(self, *args, **kwargs):  # noqa: ANN001 - Textual's own signature
        full.append(1)
        return render_full_update(self, *args, **kwargs)

    async with app.run_test(size=WIDE) as pilot:
        await switch_panes(pilot, monkeypatch, Compositor, "render_full_update", counted)
    assert full == []


async def test_a_pane_switch_repaints_the_panes_borders_not_the_widgets_inside(tmp_path: Path, monkeypatch) -> None:
    """The focused pane's border and title change colour; its charts and bars are left as they were."""
    from textual.widget import Widget
    from textual.widgets import ProgressBar

    from tui_cnn.ui.widgets.curves import CurveChart

    app = apps.make_app(tmp_path)
    inside: list[str] = []
    refresh = Widget.refresh

    def counted(self, *args, **kwargs):  # noqa: ANN001 - Textual's own signature
        if isinstance(self, CurveChart | ProgressBar) or isinstance(self.parent, ProgressBar):
            inside.append(type(self).__name__)
        return refresh(self, *args, **kwargs)

    async with app.run_test(size=WIDE) as pilot:
        await switch_panes(pilot, monkeypatch, Widget, "refresh", counted)
        assert app.main.query_one("#training").has_pseudo_class("focus")
    assert inside == []
