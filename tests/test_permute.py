"""Shuffled pixels: one permutation fixed by its seed, the same for both splits, recorded in the dataset's name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.architecture.presets import preset
from tui_cnn.cli import main
from tui_cnn.lessons.fields import region_origins
from tui_cnn.lessons.models import model_from
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import DataError, Dataset, load
from tui_cnn.training.transforms import permute, permuted_name, pixel_permutation, split_name, unpermute


@pytest.fixture(scope="module")
def shuffled() -> Dataset:
    return load("mnist-5k/perm1")


def test_the_permutation_is_a_bijection_fixed_by_its_seed() -> None:
    before = torch.random.get_rng_state()
    perm = pixel_permutation(1, 784)
    assert torch.equal(torch.sort(perm).values, torch.arange(784))
    assert torch.equal(perm, pixel_permutation(1, 784))
    assert not torch.equal(perm, pixel_permutation(2, 784))
    assert not torch.equal(perm, torch.arange(784))
    assert torch.equal(torch.random.get_rng_state(), before)  # a private generator: the global one is untouched


def test_permute_moves_each_pixel_and_unpermute_puts_it_back() -> None:
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 1, 3, 4)
    perm = pixel_permutation(5, 12)
    shuffled = permute(x, perm)
    assert torch.equal(shuffled.flatten(-2), x.flatten(-2)[..., perm])
    assert torch.equal(unpermute(shuffled, perm), x)


def test_both_splits_are_shuffled_by_the_one_permutation(mnist5k: Dataset, shuffled: Dataset) -> None:
    perm = pixel_permutation(1, 784)
    assert shuffled.name == "mnist-5k/perm1"
    assert torch.equal(shuffled.permutation, perm)
    assert torch.equal(shuffled.x_train, permute(mnist5k.x_train, perm))
    assert torch.equal(shuffled.x_val, permute(mnist5k.x_val, perm))
    assert torch.equal(shuffled.y_train, mnist5k.y_train) and torch.equal(shuffled.y_val, mnist5k.y_val)
    assert (shuffled.mean, shuffled.std) == (mnist5k.mean, mnist5k.std)
    assert torch.equal(shuffled.unpermute(shuffled.x_val), mnist5k.x_val)
    assert torch.equal(shuffled.to("cpu").permutation, perm)
    assert mnist5k.permutation is None and mnist5k.unpermute(mnist5k.x_val) is mnist5k.x_val


def test_an_mlp_with_its_first_layer_permuted_to_match_gives_the_same_outputs(
    mnist5k: Dataset, shuffled: Dataset
) -> None:
    model = model_from(preset("mlp"), seed=3).double()
    matched = model_from(preset("mlp"), seed=3).double()
    with torch.no_grad():
        matched[1].weight.copy_(model[1].weight[:, shuffled.permutation])
    plain_out = model(mnist5k.x_val.double())
    shuffled_out = matched(shuffled.x_val.double())
    torch.testing.assert_close(shuffled_out, plain_out, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(model(shuffled.x_val.double()), plain_out)  # unmatched, the shuffle does matter


def test_names_carry_the_seed() -> None:
    assert permuted_name("mnist-5k", 1) == "mnist-5k/perm1"
    assert permuted_name("mnist-5k", None) == "mnist-5k"
    assert split_name("mnist-5k/perm1") == ("mnist-5k", 1)
    assert split_name("mnist-5k") == ("mnist-5k", None)
    with pytest.raises(ValueError, match="0 or more"):
        permuted_name("mnist-5k", -1)


@pytest.mark.parametrize("name", ["mnist-5k/perm01", "mnist-5k/perm-1", "mnist-5k/permx", "cifar/perm1"])
def test_a_name_that_is_not_one_permutation_of_a_known_set_is_unknown(name: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset"):
        load(name, tmp_path)


def test_a_run_on_shuffled_pixels_is_recorded_with_its_dataset(tmp_path: Path) -> None:
    args = ["train", "linear", "--epochs", "1", "--batch-size", "500", "--device", "cpu", "--permute-pixels", "1"]
    result = CliRunner().invoke(main, [*args, "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout.splitlines()[-1])
    assert run["dataset"] == "mnist-5k/perm1"
    assert RunStore(tmp_path).get(run["run_id"]).dataset == "mnist-5k/perm1"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--permute-pixels", "-1"], "0 or more"),
        (["--dataset", "mnist-5k/perm2", "--permute-pixels", "1"], "already shuffled"),
    ],
)
def test_a_bad_permutation_is_one_line_and_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "linear", *args, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_images_unshuffled_are_the_plain_digits_and_plain_ones_stay(mnist5k: Dataset, shuffled: Dataset) -> None:
    assert torch.equal(shuffled.images("val", unshuffled=True), mnist5k.images("val"))
    assert torch.equal(shuffled.images("train", unshuffled=True), mnist5k.images("train"))
    assert not torch.equal(shuffled.images("val"), mnist5k.images("val"))
    assert torch.equal(mnist5k.images("val", unshuffled=True), mnist5k.images("val"))


def test_a_box_on_a_shuffled_image_comes_from_where_its_origins_say() -> None:
    x = torch.arange(6 * 5, dtype=torch.float32).reshape(1, 6, 5)  # every pixel its own row-major position
    perm = pixel_permutation(3, 30)
    seen = permute(x, perm)[0]
    box = (1, 2, 4, 4)  # rows 1-3, columns 2-3 of what the network sees
    origins = region_origins(box, 5, perm.tolist())
    assert len(origins) == 6
    assert [float(x[0, y, c]) for y, c in origins] == seen[1:4, 2:4].flatten().tolist()
    assert region_origins(box, 5, list(range(30))) == [(y, c) for y in range(1, 4) for c in range(2, 4)]
