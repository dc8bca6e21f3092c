"""Behaviour of the app through the keyboard (Pilot): editing, budget, training, kernels, quitting."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from textual.widgets import Input, OptionList, Static

from tui_cnn.app import CnnTuiApp
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import format_file
from tui_cnn.training.config import TrainConfig
from tui_cnn.ui.dialogs.modals import ConfirmQuit, LayerForm, OpenSpec, Prompt
from tui_cnn.ui.messages import RunStarted, WeightSnapshot
from tui_cnn.ui.panes.architecture import ArchitecturePane
from tui_cnn.ui.panes.budget import BudgetPane, target_params
from tui_cnn.ui.panes.kernels import KernelGrid, KernelsPane
from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.screens.help import HelpScreen
from tui_cnn.ui.widgets.budget_table import BudgetTable

from . import apps

WIDE = (120, 40)


def make_app(tmp_path: Path, arch: str = "simple_cnn", **config: object) -> CnnTuiApp:
    return apps.make_app(tmp_path, arch, **{"batch_size": 500, **config})


def editor(app: CnnTuiApp) -> ArchitecturePane:
    return app.main.query_one(ArchitecturePane)


def budget_text(app: CnnTuiApp) -> str:
    return str(app.main.query_one("#budget-total", Static).render())


def budget_total(app: CnnTuiApp) -> int:
    return app.main.query_one(BudgetPane).budget.total_params


def lines(app: CnnTuiApp) -> list[str]:
    return [layer.line() for layer in editor(app).spec.layers]


async def test_first_frame_shows_four_titled_panes_and_the_budget(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        for pane_id, title in (
            ("architecture", "Architecture"),
            ("budget", "Budget"),
            ("training", "Training"),
            ("kernels", "Kernels"),
        ):
            pane = app.main.query_one(f"#{pane_id}")
            assert pane.display and pane.region.width > 30 and pane.region.height > 10, pane_id
            assert pane.border_title == title
        assert "total 5,274 params" in budget_text(app)
        assert "target 39,760" in budget_text(app)
        assert app.main.query_one(BudgetTable).row_count == 10
        assert app.main.query_one("#layers", OptionList).option_count == 10


async def test_add_a_layer_from_the_picker_and_form(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        assert budget_total(app) == 39_760
        await pilot.press("a", "down", "down", "enter")  # picker: conv, local, linear, ... -> linear
        assert isinstance(app.screen, LayerForm)
        await pilot.press("2", "0", "enter")  # the field starts selected: typing replaces it
        assert lines(app) == ["flatten", "linear 20", "linear 50", "relu", "linear 10"]
        expected = 784 * 20 + 20 + 20 * 50 + 50 + 50 * 10 + 10
        assert budget_total(app) == expected == 17_260
        assert "total 17,260 params" in budget_text(app)
        assert editor(app).spec.name == "custom"  # an edited preset is no longer the preset


async def test_adding_a_layer_without_options_skips_the_form(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("a", "down", "down", "down", "enter")  # conv, local, linear, relu
        assert lines(app) == ["flatten", "relu", "linear 50", "relu", "linear 10"]
        assert app.main.query_one(BudgetTable).row_count == 5


async def test_edit_checks_the_fields_and_updates_the_budget(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("down", "enter")  # linear 50
        form = app.screen
        assert isinstance(form, LayerForm)
        await pilot.press("x", "enter")  # not a number: refused, the form stays
        assert app.screen is form
        assert "whole number" in str(form.query_one("#verdict", Static).render())
        await pilot.press("ctrl+a", "ctrl+k", "3", "2")
        assert "output 32" in str(form.query_one("#verdict", Static).render())
        await pilot.press("enter")
        assert lines(app) == ["flatten", "linear 32", "relu", "linear 10"]
        assert budget_total(app) == 784 * 32 + 32 + 32 * 10 + 10


async def test_delete_move_duplicate_undo_and_redo(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        original = lines(app)
        await pilot.press("down", "d")
        assert lines(app) == ["flatten", "relu", "linear 10"]
        assert budget_total(app) == 784 * 10 + 10
        await pilot.press("u")
        assert lines(app) == original and budget_total(app) == 39_760
        await pilot.press("ctrl+r")
        assert lines(app) == ["flatten", "relu", "linear 10"]
        await pilot.press("u", "home", "shift+down")
        assert lines(app) == ["linear 50", "flatten", "relu", "linear 10"]
        assert not editor(app).budget.ok  # linear on an image: impossible, shown not raised
        await pilot.press("shift+up")
        assert lines(app) == original
        await pilot.press("down", "down", "c")
        assert lines(app) == ["flatten", "linear 50", "relu", "relu", "linear 10"]
        assert app.main.query_one(BudgetTable).row_count == 5
        for _ in range(4):
            await pilot.press("u")
        assert lines(app) == original
        await pilot.press("u")  # nothing left to undo: said, and nothing changes
        assert lines(app) == original and not editor(app).history.can_undo


async def test_an_invalid_spec_is_marked_and_disables_training(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("colon")
        prompt = app.screen
        assert isinstance(prompt, Prompt)
        prompt.query_one(Input).value = "conv 4 | lnear 10"
        await pilot.press("enter")
        assert app.screen is prompt  # a parse error keeps the prompt open, with the caret
        assert "did you mean 'linear'" in str(prompt.query_one("#verdict", Static).render())
        prompt.query_one(Input).value = "conv 4 | linear 10"
        await pilot.press("enter")
        assert lines(app) == ["conv 4", "linear 10"]
        pane = editor(app)
        assert pane.has_class("invalid")
        assert "linear needs flat features" in str(pane.query_one("#layers", OptionList).get_option_at_index(1).prompt)
        assert "layer 1 cannot work" in str(pane.query_one("#arch-status", Static).render())
        training = app.main.query_one(TrainingPane)
        assert training.problem and "layer 1" in training.problem
        assert training.check_action("start", ()) is None
        await pilot.press("t")
        assert training.state == "ready" and not list(app.workers)
        await pilot.press("u")  # back to the MLP: training is allowed again
        assert training.problem is None and training.check_action("start", ()) is True


async def test_presets_and_spec_files(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s", "enter")
        saved = tmp_path / "simple_cnn.spec"
        assert saved.read_text() == format_file(preset("simple_cnn"))
        await pilot.press("p", "enter")  # the first preset: mlp
        assert editor(app).spec == preset("mlp")
        assert budget_total(app) == 39_760
        await pilot.press("o")
        assert isinstance(app.screen, OpenSpec)
        await pilot.press(*"nope.spec", "enter")
        assert "cannot read" in str(app.screen.query_one("#verdict", Static).render())
        await pilot.press("down", "enter")  # the listed file
        assert lines(app) == [layer.line() for layer in preset("simple_cnn").layers]
        assert budget_total(app) == 5_274


async def test_budget_target(tmp_path: Path) -> None:
    assert target_params("39,760") == 39_760
    assert target_params("40k") == 40_000
    assert target_params("simple_cnn") == 5_274
    assert "type a number" in str(target_params("lots"))
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("2", "g", *"1000", "enter")
        assert app.main.query_one(BudgetPane).target == 1000
        assert "5.3x over" in budget_text(app)


async def test_the_kernel_pane_follows_brackets(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        kernels = app.main.query_one(KernelsPane)
        await pilot.press("4")
        assert app.focused is kernels
        assert kernels.chosen.index == 0
        await pilot.press("right_square_bracket")
        assert kernels.chosen.index == 2
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert kernels.chosen.index == 6
        await pilot.press("left_square_bracket")
        assert kernels.chosen.index == 4
        head = str(kernels.query_one("#kern-head", Static).render())
        assert "conv 16 s2" in head and "16x8 kernels 3x3" in head
        await pilot.press("1", "p", "enter")  # the MLP: its first layer's units are 28x28 maps
        await pilot.press("4")
        assert [(w.index, w.kind) for w in kernels.choices] == [(1, "image"), (3, "matrix")]
        assert (kernels.chosen.height, kernels.chosen.width) == (28, 28)


async def test_kernels_draw_fed_weights(tmp_path: Path) -> None:
    """Recorded weights in, heatmaps out: selection, scale, values and the MLP's 28x28 units."""
    rng = np.random.default_rng(0)
    spec = preset("mlp")
    arrays = {1: rng.normal(size=(50, 784)).astype(np.float32), 3: rng.normal(size=(10, 50)).astype(np.float32)}
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        kernels = app.main.query_one(KernelsPane)
        grid = kernels.query_one(KernelGrid)
        kernels.show_weights(WeightSnapshot(spec, 10, 1, arrays, final=True))
        await pilot.press("4")
        assert grid.picture is not None
        columns = kernels._columns
        assert columns >= 2  # 28x28 maps fill the pane's width (no enlarged copy beside them)
        assert not kernels.query_one("#kern-side").display
        assert grid.picture.width == columns * 29 + 1 and grid.picture.height == (-(-50 // columns) * 29 + 2) // 2
        await pilot.press("down", "right")
        assert kernels.selected == columns + 1
        head = str(kernels.query_one("#kern-head", Static).render())
        assert f"unit {columns + 1}" in head and "per layer" in head and "trained weights" in head
        await pilot.press("n")
        assert "per kernel" in str(kernels.query_one("#kern-head", Static).render())
        await pilot.press("right_square_bracket")  # the 10x50 matrix: one picture, smaller than the last
        assert (grid.picture.width, grid.picture.height) == (52, 6)
        assert grid.render_line(10).cell_length == grid.size.width
        assert "".join(s.text for s in grid.render_line(10)).strip() == ""


async def test_small_terminals_show_one_pane_at_a_time(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()

        def shown() -> list[str | None]:
            return [p.id for p in app.main.query(".pane") if p.display]

        assert shown() == ["architecture"]
        assert app.main.query_one("#pane-bar").display
        await pilot.press("2")
        await pilot.pause()
        assert shown() == ["budget"]
        assert isinstance(app.focused, BudgetTable)
        await pilot.press("tab")
        await pilot.pause()
        assert shown() == ["training"]
        await pilot.press("shift+tab", "shift+tab")
        await pilot.pause()
        assert shown() == ["architecture"]
        await pilot.press("d")  # the editor's keys work in its own pane
        assert len(editor(app).spec.layers) == 9


async def test_the_bar_names_the_lesson_keys_where_they_fit(tmp_path: Path) -> None:
    from tui_cnn.ui.views import VIEWS

    app = make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()

        def bar() -> str:
            return str(app.main.query_one("#pane-bar").render())

        assert all(f"{view.key} {view.short}" in bar() for view in VIEWS) and "? help" in bar()
        await pilot.resize_terminal(120, 40)  # the first views that fit, in order
        await pilot.pause()
        shown = [f"{view.key} {view.short}" in bar() for view in VIEWS]
        assert shown[0] and not shown[-1] and shown == sorted(shown, reverse=True)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "m matrix" not in bar() and "tab: next pane" in bar()
        await pilot.press("m")  # the keys work whether or not the bar has room for them
        await pilot.pause()
        assert app.screen is not app.main


async def test_every_action_is_in_the_command_palette(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p", *"delete", "enter")
        await pilot.pause()
        assert len(editor(app).spec.layers) == 9
        kernels = app.main.query_one(KernelsPane)
        assert kernels.chosen.index == 1  # conv 8 s2, now the first conv
        await pilot.press("ctrl+p", *"next k", "enter")
        await pilot.pause()
        assert kernels.chosen.index == 3


async def test_help_lists_keys_and_closes(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = apps.help_text(app)
        for needle in ("Architecture", "Budget", "Training", "Kernels", "undo the last change", "ctrl+p"):
            assert needle in text
        await pilot.press("escape")
        assert app.screen is app.main


async def test_q_quits_at_once_when_idle(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


_FIRST_FRAME = """
import asyncio, sys
from tui_cnn.cli import commands as cli
from tui_cnn.app import CnnTuiApp
from tui_cnn.ui import main_screen

# The initial weights (which import torch in a thread) are drawn once edits pause; a loaded
# machine can take longer than that pause to paint, so the pause is made long here.
main_screen.INITIAL_DEBOUNCE_S = 60
OPTIONS = dict(epochs=1, batch_size=64, lr=1e-3, optimizer="adam", weight_decay=0.0, seed=0, device="auto")
FLAGS = dict(amp=False, compile_=False, cuda_graphs=False)

async def main():
    # As `cnn-tui` makes it (options checked by the CLI), less the device look-up in a thread.
    app = CnnTuiApp(config=cli._config({**OPTIONS, **FLAGS}), device_label="CPU")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        print("5,274" in app.export_screenshot(), "torch" in sys.modules)

asyncio.run(main())
"""


def test_the_app_paints_its_first_frame_before_torch_is_imported(tmp_path: Path) -> None:
    """The first frame needs only the spec and its budget; torch (a second to import) loads later, in a thread."""
    import subprocess
    import sys

    env = {**os.environ, "CNN_TUI_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", _FIRST_FRAME], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["True", "False"]


async def test_gpu_memory_and_utilisation_show_while_a_cuda_run_goes(tmp_path: Path, monkeypatch) -> None:
    """No GPU here: the device functions are stand-ins; the pane's polling and layout are real."""
    from tui_cnn.training import (
        devices,
        trainer,  # noqa: F401 - imported first under the stand-in, it would keep it for good
    )
    from tui_cnn.training.events import Started

    monkeypatch.setattr(devices, "pick", lambda name="auto": "cuda:0")
    monkeypatch.setattr(devices, "device_name", lambda device: "NVIDIA H100 80GB HBM3")
    monkeypatch.setattr(devices, "stats", lambda device: devices.DeviceStats("H100", "cuda", 3 << 30, 80 << 30, 55.0))
    app = CnnTuiApp(config=TrainConfig(device="cuda"), runs_dir=str(tmp_path), spec_dir=tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        training = app.main.query_one(TrainingPane)
        await app.workers.wait_for_complete()
        training.state = "starting"  # as a press of t does, without a trainer behind it
        started = Started("simple_cnn", "", 5274, "mnist-5k", "cuda", "NVIDIA H100 80GB HBM3", 10, 62, 4000, 1000, {})
        training.post_message(RunStarted(started))
        await pilot.pause(1.3)  # the GPU is polled once a second
        head = str(training.query_one("#train-head", Static).render())
        assert "NVIDIA H100 80GB HBM3" in head and "mem 3.0/80.0 GiB  util 55%" in head
        training.state = "finished"


async def test_training_reaches_an_epoch_end_and_x_stops_the_next_run(tmp_path: Path, device: str) -> None:
    from tui_cnn.store.runs import RunStore

    app = make_app(tmp_path, epochs=1, batch_size=500, device=device)
    async with app.run_test(size=WIDE) as pilot:
        training = app.main.query_one(TrainingPane)
        await pilot.press("t")  # one epoch of mnist-5k at batch 500 takes about a second
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert training.state == "finished", training.message
        assert len(training.epochs) == 1 and 0.0 < training.epochs[0].val_acc <= 1.0
        kernels = app.main.query_one(KernelsPane)
        assert kernels.snapshot is not None and kernels.snapshot.final
        assert "trained weights" in str(kernels.query_one("#kern-info", Static).render())
        finished_id = training.run_id

        training.config = TrainConfig(epochs=50, batch_size=100, seed=0, device=device)
        await pilot.press("t")
        await apps.first_step(pilot, training)
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert training.state == "interrupted"
        stopped_id = training.run_id
    store = RunStore.open(str(tmp_path / "runs"))
    statuses = {r.run_id: r.status for r in store.runs()}
    assert statuses[finished_id] == "finished" and statuses[stopped_id] == "interrupted"


async def test_quitting_during_a_run_asks_then_stops_and_records_it(tmp_path: Path) -> None:
    from tui_cnn.store.runs import RunStore

    app = make_app(tmp_path, epochs=50, batch_size=100)
    async with app.run_test(size=WIDE) as pilot:
        training = app.main.query_one(TrainingPane)
        await pilot.press("t")
        await apps.first_step(pilot, training)
        await pilot.press("space")
        assert training.state == "paused"
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")
        assert app.screen is app.main and training.running
        await pilot.press("q", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    assert app.return_code == 0
    records = RunStore.open(str(tmp_path / "runs")).runs()
    assert [r.status for r in records] == ["interrupted"]


async def test_the_settings_dialog_shows_the_optimizer_it_will_use(tmp_path: Path) -> None:
    """Every field shows its value: the optimizer's select was taller than its row, its value clipped away."""
    from textual.widgets import Select

    from tui_cnn.ui.dialogs.modals import HyperParams

    app = make_app(tmp_path, optimizer="sgd")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("3", "h")
        await pilot.pause()
        assert isinstance(app.screen, HyperParams)
        label = app.screen.query_one("#f-optimizer", Select).query_one("SelectCurrent #label", Static)
        geometry = app.screen.find_widget(label)
        assert geometry.region.intersection(geometry.clip).height >= 1  # on screen, not clipped
        assert "sgd" in str(label.render())
