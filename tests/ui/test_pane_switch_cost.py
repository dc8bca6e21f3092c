"""What a pane switch costs the event loop: which nodes it restyles, which footer keys it builds.

On one slow core a pane switch while training took 140 ms of the event loop, most of
it restyling (and so re-rendering) every widget of two panes for a border colour and
rebuilding the footer's keys twice; these tests pin the work down, not the time.
"""

from __future__ import annotations

from pathlib import Path

from textual.css.stylesheet import Stylesheet
from textual.geometry import Region
from textual.widgets._footer import FooterKey

from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.widgets.budget_table import BudgetTable
from tui_cnn.ui.widgets.footer import Footer

from . import apps

WIDE = (120, 40)
SWITCHES = "2323"  # Budget, Training, Budget, Training


async def switch_panes(pilot, monkeypatch, cls: type, name: str, counted) -> None:  # noqa: ANN001
    """Settle after one switch each way (the footer's key sets built and kept), then count while switching."""
    await pilot.press("2", "3")
    await apps.initial_weights_drawn(pilot)  # the Kernels pane's first picture lays out its pane
    await apps.settle(pilot)
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


async def line_drawn(pilot) -> bool:  # noqa: ANN001
    """Whether the footer comes to draw its keys from a kept line (it takes a few frames after a change)."""
    footer = pilot.app.main.query_one(Footer)
    for _ in range(20):
        await pilot.pause()
        if footer.drawn_from_line():
            return True
    return False


def footer_text(app) -> str:  # noqa: ANN001
    footer = app.main.query_one(Footer)
    return footer.render_lines(Region(0, 0, footer.size.width, 1))[0].text


async def test_the_footer_draws_a_set_of_keys_it_has_shown_from_its_line(tmp_path: Path, monkeypatch) -> None:
    app = apps.make_app(tmp_path)
    built: list[str] = []
    init = FooterKey.__init__

    def counted(self, key, *args, **kwargs):  # noqa: ANN001 - Textual's own signature
        built.append(key)
        init(self, key, *args, **kwargs)

    async with app.run_test(size=WIDE) as pilot:
        await switch_panes(pilot, monkeypatch, FooterKey, "__init__", counted)
        footer = app.main.query_one(Footer)
        assert await line_drawn(pilot) and not footer.query(FooterKey)
        assert footer_text(app).split() == ["t", "Train", "space", "Pause", "x", "Stop", "h", "Settings", "q", "Quit",
                                            "?", "Help", "▏^p", "palette"]  # fmt: skip
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.focused, BudgetTable)
        assert footer_text(app).split() == ["g", "Target", "q", "Quit", "?", "Help", "▏^p", "palette"]
    assert built == []


async def calls_while_switching(pilot, monkeypatch, cls: type, name: str) -> list[int]:  # noqa: ANN001
    """One entry for each call of `cls.name` while the panes switch (after they settled)."""
    calls: list[int] = []
    real = getattr(cls, name)

    def counted(self, *args, **kwargs):  # noqa: ANN001 - Textual's own signature
        calls.append(1)
        return real(self, *args, **kwargs)

    await switch_panes(pilot, monkeypatch, cls, name, counted)
    return calls


async def test_a_pane_switch_lays_nothing_out(tmp_path: Path, monkeypatch) -> None:
    """The footer's keys change in one line's repaint: the screen's layout stays as it was."""
    from textual.screen import Screen

    async with apps.make_app(tmp_path).run_test(size=WIDE) as pilot:
        assert await calls_while_switching(pilot, monkeypatch, Screen, "_refresh_layout") == []


async def test_a_kept_line_paints_the_cells_textuals_widgets_paint(tmp_path: Path) -> None:
    """With the mouse over the footer its widgets draw it; away, its kept line: the same cells and styles."""
    size = (160, 40)  # room at the right of every pane's keys for a blank cell to hover

    def footer_row() -> list[tuple[str, str]]:
        """Each cell of the screen's last row: its character and style (not the mouse's metadata)."""
        strips = app.screen._compositor.render_full_update().strips[-1]
        return [(char, str(seg.style)) for strip in strips for seg in strip for char in seg.text]

    app = apps.make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        for pane in "1234":
            await pilot.press(pane)
            await apps.settle(pilot)
            footer = app.main.query_one(Footer)
            assert await line_drawn(pilot)
            from_line = footer_row()
            await pilot.hover(Footer, offset=(size[0] - 20, 0))  # a blank cell: no key highlighted
            await apps.settle(pilot)
            assert footer.query(FooterKey) and not footer.drawn_from_line()
            assert footer_row() == from_line, f"pane {pane}"
            await pilot.hover("#pane-bar")
            await apps.settle(pilot)
            assert await line_drawn(pilot)


async def test_a_click_on_a_key_drawn_from_the_line_runs_it(tmp_path: Path) -> None:
    from tui_cnn.ui.dialogs.modals import Prompt

    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2", "3", "2")
        await apps.settle(pilot)
        assert await line_drawn(pilot)
        assert await pilot.click(Footer, offset=(1, 0))  # the first key: g Target
        await apps.settle(pilot)
        assert isinstance(app.screen, Prompt)


async def test_the_footer_draws_its_keys_anew_for_a_new_width_and_theme(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2", "3")
        await apps.settle(pilot)
        footer = app.main.query_one(Footer)
        wide = footer.render_lines(Region(0, 0, WIDE[0], 1))[0]
        await pilot.resize_terminal(100, 40)
        await apps.settle(pilot)
        assert await line_drawn(pilot) and footer.size.width == 100
        assert footer_text(app).split()[:2] == ["t", "Train"] and footer_text(app).rstrip().endswith("palette")
        await pilot.resize_terminal(*WIDE)
        await apps.settle(pilot)
        assert await line_drawn(pilot)
        assert footer.render_lines(Region(0, 0, WIDE[0], 1))[0] == wide
        app.theme = "textual-light"
        await apps.settle(pilot)
        assert await line_drawn(pilot)
        assert footer.render_lines(Region(0, 0, WIDE[0], 1))[0].text == wide.text
        assert footer.render_lines(Region(0, 0, WIDE[0], 1))[0] != wide  # the light theme's colours


async def test_a_pane_switch_repaints_what_changed_not_the_whole_screen(tmp_path: Path, monkeypatch) -> None:
    from textual._compositor import Compositor

    async with apps.make_app(tmp_path).run_test(size=WIDE) as pilot:
        assert await calls_while_switching(pilot, monkeypatch, Compositor, "render_full_update") == []


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


async def test_a_hidden_key_enabled_or_not_is_not_a_new_set_of_keys(tmp_path: Path) -> None:
    """t, space and x are hidden everywhere: a run starting or ending must not make the footer build anew."""
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("4")
        await apps.settle(pilot)
        keys, *_ = app.main.query_one(Footer).shown_keys()
        shown = [key for key, *_ in keys]
        assert "v" in shown and "ctrl+p" in shown  # the Kernels pane's own, and the palette's
        assert not {"up", "down", "t", "space", "x"} & set(shown)  # hidden here
