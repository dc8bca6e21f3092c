"""Shifted digits: images moved exactly, background coming in, and accuracy over every shift."""

from __future__ import annotations

import pytest
import torch

from tui_cnn.architecture.presets import preset
from tui_cnn.lessons.models import model_from
from tui_cnn.lessons.shift import accuracy_grid, by_distance, shift_accuracy, shift_images, shifted_digit, shifts
from tui_cnn.store.compare import load_model
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import Dataset, load
from tui_cnn.training.trainer import TrainConfig, Trainer
from tui_cnn.training.transforms import permute

from .subsets import first_digits

FILL = -0.4


def one_pixel(row: int, col: int) -> torch.Tensor:
    x = torch.full((1, 1, 28, 28), FILL)
    x[0, 0, row, col] = 1.0
    return x


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (2, 0), (-3, 1), (0, -5), (4, 4), (-1, -2)])
def test_a_bright_pixel_moves_by_exactly_the_shift(dx: int, dy: int) -> None:
    moved = shift_images(one_pixel(10, 12), dx, dy, FILL)
    assert (moved == 1.0).nonzero().tolist() == [[0, 0, 10 + dy, 12 + dx]]
    assert int((moved == FILL).sum()) == 28 * 28 - 1


@pytest.mark.parametrize(("row", "col", "dx", "dy"), [(5, 27, 1, 0), (5, 0, -1, 0), (27, 5, 0, 1), (0, 5, 0, -3)])
def test_nothing_wraps_around_and_background_comes_in(row: int, col: int, dx: int, dy: int) -> None:
    moved = shift_images(one_pixel(row, col), dx, dy, FILL)
    assert torch.equal(moved, torch.full_like(moved, FILL))


def test_a_shift_by_the_whole_image_leaves_only_background() -> None:
    assert torch.equal(shift_images(one_pixel(3, 3), 28, 0, FILL), torch.full((1, 1, 28, 28), FILL))


def test_shifts_cover_the_square_and_rings_average_it() -> None:
    assert len(shifts(2)) == 25 and shifts(1)[0] == (-1, -1) and shifts(1)[-1] == (1, 1)
    rings = by_distance([(dx, dy, 1.0 if (dx, dy) == (0, 0) else 0.5) for dx, dy in shifts(1)])
    assert rings == [(0, 1.0), (1, 0.5)]


def background_of(data: Dataset) -> float:
    return float(data.x_val.min())  # mnist has blank corners: the smallest value is a blank pixel


def test_background_is_a_blank_pixel_after_normalisation(mnist5k: Dataset) -> None:
    assert mnist5k.background == pytest.approx(background_of(mnist5k), abs=1e-6)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, dict[str, str]]:
    """simple_cnn trained one epoch on plain and on shuffled pixels."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    ids = {}
    for name in ("mnist-5k", "mnist-5k/perm1"):
        recorder = store.recorder()
        Trainer(preset("simple_cnn"), name, TrainConfig(epochs=1, device="cpu"), recorder).run()
        ids[name] = recorder.run_id
    return store, ids


def naive(model: torch.nn.Module, data: Dataset, dx: int, dy: int) -> float:
    """One shift at a time, the slow obvious way: unshuffle, move, shuffle again."""
    x = shift_images(data.unpermute(data.x_val), dx, dy, data.background)
    if data.permutation is not None:
        x = permute(x, data.permutation)
    with torch.no_grad():
        return int((model(x).argmax(1) == data.y_val).sum()) / len(x)


@pytest.mark.parametrize("dataset", ["mnist-5k", "mnist-5k/perm1"])
def test_shift_accuracy_matches_one_shift_at_a_time_and_its_run_at_0_0(
    runs: tuple[RunStore, dict[str, str]], dataset: str, one_thread: None
) -> None:
    store, ids = runs
    record = store.get(ids[dataset])
    assert record.dataset == dataset
    model, data = load_model(store, record), load(dataset)
    found = shift_accuracy(model, data, 2, batch=3000)  # three shifts a pass, the last pass short
    assert [(dx, dy) for dx, dy, _ in found] == shifts(2)
    for dx, dy, acc in found:
        assert acc == pytest.approx(naive(model, data, dx, dy), abs=1e-9), (dx, dy)
    at_zero = {(dx, dy): acc for dx, dy, acc in found}[(0, 0)]
    assert at_zero == pytest.approx(record.final_val_acc, abs=1e-9)
    assert min(acc for *_, acc in found) < at_zero  # shifting costs something, so the shifts are real


def test_a_run_on_shuffled_pixels_is_probed_on_its_own_shuffled_digits(runs: tuple[RunStore, dict[str, str]]) -> None:
    store, ids = runs
    model = load_model(store, store.get(ids["mnist-5k/perm1"]))
    own = dict(((dx, dy), a) for dx, dy, a in shift_accuracy(model, load("mnist-5k/perm1"), 0))
    plain = dict(((dx, dy), a) for dx, dy, a in shift_accuracy(model, load("mnist-5k"), 0))
    assert own[(0, 0)] > 0.5 > plain[(0, 0)]


@pytest.mark.parametrize("dataset", ["mnist-5k", "mnist-5k/perm1"])
def test_the_digit_a_view_shows_at_a_shift_is_the_one_the_probe_scored(
    runs: tuple[RunStore, dict[str, str]], dataset: str, one_thread: None
) -> None:
    store, ids = runs
    model, data = load_model(store, store.get(ids[dataset])), first_digits(load(dataset), 0, 40)
    found = {(dx, dy): acc for dx, dy, acc in shift_accuracy(model, data, 2)}
    for dx, dy in [(2, 0), (-1, 2), (0, 0)]:
        digits = [shifted_digit(data, i, dx, dy) for i in range(len(data.y_val))]
        assert digits[0].shape == (1, 28, 28)
        with torch.no_grad():
            right = sum(int(model(x[None]).argmax(1)) == int(y) for x, y in zip(digits, data.y_val, strict=True))
        assert right / len(digits) == pytest.approx(found[(dx, dy)], abs=1e-9), (dx, dy)
    if data.permutation is not None:  # moved in the digit's own order, then shuffled: never moved shuffled
        moved_shuffled = shift_images(data.x_val[0], 2, 0, data.background)
        assert not torch.equal(shifted_digit(data, 0, 2, 0), moved_shuffled)


def test_progress_hears_of_every_pass_up_to_all_the_shifts(mnist5k: Dataset) -> None:
    heard: list[tuple[int, int]] = []
    model = model_from(preset("mlp"))
    shift_accuracy(model, first_digits(mnist5k, 0, 10), 2, batch=40, progress=lambda *p: heard.append(p))
    assert heard == [(4, 25), (8, 25), (12, 25), (16, 25), (20, 25), (24, 25), (25, 25)]


def test_the_grid_puts_dy_down_and_dx_across() -> None:
    results = [(dx, dy, 10 * dy + dx) for dx, dy in shifts(1)]
    assert accuracy_grid(results) == [[-11, -10, -9], [-1, 0, 1], [9, 10, 11]]
    assert accuracy_grid(list(reversed(results))) == accuracy_grid(results)
    with pytest.raises(ValueError, match="square"):
        accuracy_grid(results[:-1])
