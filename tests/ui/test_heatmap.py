"""The pure drawing functions: palette, half-block pictures, braille charts, undo history."""

from __future__ import annotations

import numpy as np
from rich.color import Color

from tui_cnn.architecture.history import SpecHistory
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Layer
from tui_cnn.ui.widgets import heatmap
from tui_cnn.ui.widgets.chart import GUTTER, Series, chart, y_range
from tui_cnn.ui.widgets.heatmap import FRAME, GAP, LEVELS, ZERO, Picture


def rgb(level: int) -> tuple[int, int, int]:
    triplet = heatmap.color(level).get_truecolor()
    return triplet.red, triplet.green, triplet.blue


def test_palette_is_blue_neutral_red() -> None:
    r, g, b = rgb(0)
    assert b > r + 50  # most negative: blue
    r, g, b = rgb(LEVELS - 1)
    assert r > b + 50  # most positive: red
    assert rgb(ZERO) == (247, 247, 247)  # zero: neutral
    # brightness falls monotonically away from zero on both sides
    light = [sum(rgb(i)) for i in range(LEVELS)]
    assert light[:ZERO] == sorted(light[:ZERO]) and light[ZERO:] == sorted(light[ZERO:], reverse=True)


def test_levels_map_the_symmetric_range() -> None:
    values = np.array([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0, np.nan])
    lv = heatmap.levels(values, 1.0)
    assert lv.tolist() == [0, 0, ZERO, ZERO + ZERO // 2, LEVELS - 1, LEVELS - 1, ZERO]
    assert heatmap.levels(values, 0.0).tolist() == [ZERO] * 7  # all-zero weights stay neutral
    per_kernel = heatmap.levels(np.array([[1.0, -1.0], [0.1, 0.0]]), np.array([[1.0], [0.1]]))
    assert per_kernel.tolist() == [[LEVELS - 1, 0], [LEVELS - 1, ZERO]]


def test_max_abs_per_layer_and_per_kernel() -> None:
    maps = np.array([[[1.0, -3.0]], [[0.5, 0.25]]])
    assert heatmap.max_abs(maps) == 3.0
    assert heatmap.max_abs(maps, axes=(1, 2), keepdims=True).reshape(-1).tolist() == [3.0, 0.5]


def test_tile_lays_out_with_gaps_and_frames_the_selection() -> None:
    maps = np.arange(5 * 2 * 3).reshape(5, 2, 3) % LEVELS
    out = heatmap.tile(maps, selected=4, columns=2)
    assert out.shape == (3 * 3 + 1, 2 * 4 + 1)  # 3 rows of tiles, 2 columns, 1-pixel gaps
    assert (out[1:3, 1:4] == maps[0]).all()
    assert (out[1:3, 5:8] == maps[1]).all()
    assert (out[7:9, 1:4] == maps[4]).all()
    # the frame surrounds tile 4 (row 2, column 0) only
    assert (out[6, 0:5] == FRAME).all() and (out[9, 0:5] == FRAME).all()
    assert (out[6:10, 0] == FRAME).all() and (out[6:10, 4] == FRAME).all()
    assert (out[0] == GAP).all()
    assert (out[7:9, 5:8] == GAP).all()  # the missing sixth tile


def test_picture_packs_two_pixels_a_cell() -> None:
    pixels = np.array([[0, 0, GAP], [LEVELS - 1, LEVELS - 1, 5], [ZERO, GAP, GAP]], dtype=np.int16)
    picture = Picture(pixels)
    assert (picture.width, picture.height) == (3, 2)
    top = picture.line(0)
    assert [s.text for s in top] == ["▀▀", "▄"]  # equal cells merge into one segment
    assert top[0].style.color == heatmap.color(0) and top[0].style.bgcolor == heatmap.color(LEVELS - 1)
    assert top[1].style.color == heatmap.color(5) and top[1].style.bgcolor is None
    bottom = picture.line(1)  # odd height: the last row has no pixel below it
    assert [s.text for s in bottom] == ["▀", "  "]
    assert bottom[0].style.bgcolor is None and bottom[1].style is None
    framed = Picture(np.array([[FRAME], [GAP]], dtype=np.int16), frame="#ff0000").line(0)
    assert framed[0].style.color == Color.parse("#ff0000")
    assert picture.line(5) == []


def test_a_kernel_grid_draws_every_line() -> None:
    """A 16x16 grid of 3x3 kernels (a conv 16 after a conv 16): its size, line by line.

    How fast it draws is a floor for `benchmarks/edits.py` (10 ms), not a timed test.
    """
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(256, 3, 3))
    lv = heatmap.levels(maps, heatmap.max_abs(maps))
    lines = Picture(heatmap.tile(lv, selected=17, columns=16)).lines()
    assert len(lines) == (16 * 4 + 1 + 1) // 2
    assert sum(s.cell_length for s in lines[3]) == 16 * 4 + 1


def test_legend_and_values() -> None:
    legend = heatmap.legend(0.5, width=11)
    assert legend.plain.startswith("-0.5 ") and legend.plain.endswith(" +0.5")
    assert legend.plain.count("█") == 11
    cells = heatmap.value_cells(np.array([[-0.5, 0.0], [0.25, 0.5]]), 0.5)
    assert [c.plain for c in cells] == ["-0.50 +0.00 ", "+0.25 +0.50 "]
    assert heatmap.upscale(np.array([[1, 2]]), 2).tolist() == [[1, 1, 2, 2], [1, 1, 2, 2]]


def test_chart_draws_a_line_in_braille() -> None:
    series = [Series([0, 10], [0.0, 1.0], "red", "train")]
    lines = chart(series, width=GUTTER + 5, height=2, x_max=10, y_range=(0.0, 1.0))
    assert len(lines) == 2
    assert lines[0][0].text.strip().startswith("1.00") and lines[1][0].text.strip().startswith("0.00")
    plot = ["".join(s.text for s in line[1:]) for line in lines]
    assert all(len(row) == 5 for row in plot)
    # a rising line: bottom-left to top-right, every column has dots
    assert plot[1][0] != " " and plot[0][-1] != " "
    assert plot[0][0] == " " and plot[1][-1] == " "
    assert all(ch == " " or 0x2800 <= ord(ch) <= 0x28FF for row in plot for ch in row)
    assert any(s.style is not None and s.style.color == Color.parse("red") for s in lines[0])


def test_chart_averages_points_sharing_a_column() -> None:
    xs = list(range(1000))
    ys = [1.0 if i % 2 else 0.0 for i in xs]  # noise around 0.5
    lines = chart([Series(xs, ys, "blue")], width=GUTTER + 4, height=1, x_max=999, y_range=(0.0, 1.0))
    middle = "".join(s.text for s in lines[0][1:])
    # averaged to 0.5: the dots sit in the middle rows (bits 0x02/0x04/0x10/0x20), not at the edges
    assert all(ch != " " and (ord(ch) - 0x2800) & 0xC9 == 0 for ch in middle)


def test_y_range_pins_known_bounds() -> None:
    assert y_range([0.2, 2.3], floor=0.0) == (0.0, 2.3)
    assert y_range([0.4, 0.9], ceiling=1.0) == (0.4, 1.0)
    assert y_range([], floor=0.0) == (0.0, 1.0)
    assert y_range([0.5, 0.5]) == (0.5, 1.5)


def test_history_undo_redo() -> None:
    mlp = preset("mlp")
    history = SpecHistory(mlp, limit=3)
    assert not history.push(mlp)  # no change, nothing recorded
    assert not history.can_undo
    a = mlp.insert(1, Layer("relu"))
    b = a.delete(0)
    assert history.push(a) and history.push(b)
    assert history.undo() == a and history.undo() == mlp and history.undo() is None
    assert history.redo() == a
    c = a.move(0, 1)
    history.push(c)  # a new edit drops the redo stack
    assert not history.can_redo and history.redo() is None
    assert history.current == c


def test_history_is_bounded() -> None:
    history = SpecHistory(preset("mlp"), limit=2)
    spec = preset("mlp")
    for _ in range(5):
        spec = spec.insert(0, Layer("relu"))
        history.push(spec)
    assert history.undo() is not None and history.undo() is not None and history.undo() is None
