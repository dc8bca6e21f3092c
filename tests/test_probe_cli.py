"""`cnn-tui probe shift` and `probe permute`: JSON shapes, the numbers they report, and their errors."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_cnn.cli import main
from tui_cnn.experiments.probes import PermuteResult, Trained, permute_probe
from tui_cnn.store.runs import RunStore

TINY = ["--epochs", "1", "--batch-size", "500", "--device", "cpu"]


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """Two tiny runs of `linear`: on plain pixels and on mnist-5k/perm1."""
    root = tmp_path_factory.mktemp("runs")
    runs = {}
    for extra in ([], ["--permute-pixels", "1"]):
        result = invoke("train", "linear", *TINY, *extra, "--runs-dir", str(root), "--json")
        assert result.exit_code == 0, result.output
        run = json.loads(result.stdout.splitlines()[-1])
        runs[run["dataset"]] = run
    return root, runs


def test_probe_shift_json_covers_the_square_and_0_0_is_each_runs_own_val_acc(
    store: tuple[Path, dict[str, dict]],
) -> None:
    root, runs = store
    ids = [runs["mnist-5k"]["run_id"], runs["mnist-5k/perm1"]["run_id"]]
    result = invoke("probe", "shift", *ids, "--max", "1", "--runs-dir", str(root), "--json")
    assert result.exit_code == 0, result.output
    probed = json.loads(result.stdout)["runs"]
    assert [r["run_id"] for r in probed] == ids and {r["arch"] for r in probed} == {"linear"}
    for r, dataset in zip(probed, ("mnist-5k", "mnist-5k/perm1"), strict=True):
        assert {(s["dx"], s["dy"]) for s in r["shifts"]} == {(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
        assert set(r["shifts"][0]) == {"dx", "dy", "val_acc"}
        assert r["dataset"] == dataset
        at_zero = next(s["val_acc"] for s in r["shifts"] if (s["dx"], s["dy"]) == (0, 0))
        assert at_zero == pytest.approx(runs[dataset]["val_acc"], abs=1e-9)  # the shuffled run on its own pixels


def test_probe_shift_table_shows_rings_and_the_grid(store: tuple[Path, dict[str, dict]]) -> None:
    root, runs = store
    run_id = runs["mnist-5k"]["run_id"]
    result = invoke("probe", "shift", run_id[:-2], "--max", "2", "--runs-dir", str(root))
    assert result.exit_code == 0, result.output
    assert run_id in result.stdout and "2px" in result.stdout and "dy\\dx" in result.stdout
    assert f"{runs['mnist-5k']['val_acc'] * 100:.1f}" in result.stdout


def test_probe_shift_on_a_group_reports_mean_and_sd_per_shift(tmp_path: Path) -> None:
    swept = invoke("sweep", "linear", "--seeds", "2", *TINY, "--runs-dir", str(tmp_path), "--json")
    assert swept.exit_code == 0, swept.output
    sweep = json.loads(swept.stdout.splitlines()[-1])
    result = invoke("probe", "shift", sweep["sweep_id"], "--max", "1", "--runs-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["runs"] == []
    (group,) = data["groups"]
    assert (group["group_id"], group["n"]) == (sweep["groups"][0]["group_id"], 2)
    assert {(s["dx"], s["dy"]) for s in group["shifts"]} == {(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
    at_zero = next(s for s in group["shifts"] if (s["dx"], s["dy"]) == (0, 0))
    accs = [r["val_acc"] for r in sweep["runs"]]
    assert at_zero["val_acc_mean"] == pytest.approx(statistics.fmean(accs), abs=1e-9)
    assert at_zero["val_acc_sd"] == pytest.approx(statistics.stdev(accs), abs=1e-9)
    # Each shift's mean is over the members' own probes, one a run.
    member = json.loads(
        invoke("probe", "shift", *group["run_ids"], "--max", "1", "--runs-dir", str(tmp_path), "--json").stdout
    )
    right = [next(s["val_acc"] for s in r["shifts"] if (s["dx"], s["dy"]) == (1, 0)) for r in member["runs"]]
    assert next(s for s in group["shifts"] if (s["dx"], s["dy"]) == (1, 0))["val_acc_mean"] == pytest.approx(
        statistics.fmean(right)
    )
    table = invoke("probe", "shift", group["group_id"], "--max", "1", "--runs-dir", str(tmp_path))
    assert table.exit_code == 0 and "±" in table.stdout and group["group_id"] in table.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["no-such-run"], "no run 'no-such-run'"),
        (["RUN", "--max", "0"], "--max 0: shifts go from 1 to 14"),
        (["RUN", "--max", "15"], "--max 15: shifts go from 1 to 14"),
    ],
)
def test_probe_shift_errors_are_one_line_and_exit_2(
    store: tuple[Path, dict[str, dict]], args: list[str], words: str
) -> None:
    root, runs = store
    args = [runs["mnist-5k"]["run_id"] if a == "RUN" else a for a in args]
    result = invoke("probe", "shift", *args, "--runs-dir", str(root))
    assert result.exit_code == 2
    assert words in result.output and len(result.output.strip().splitlines()) == 1


def test_probe_permute_trains_each_seed_on_both_and_reports_their_mean_and_sd(tmp_path: Path) -> None:
    result = invoke(
        "probe", "permute", "linear", *TINY, "--seeds", "2", "--seed", "5", "--runs-dir", str(tmp_path), "--json"
    )
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout.splitlines()[-1])["results"]
    assert set(found) == {"arch", "params", "plain_mean", "plain_sd", "permuted_mean", "permuted_sd", "n"}
    assert (found["arch"], found["params"], found["n"]) == ("linear", 7850, 2)
    records = RunStore(tmp_path).runs()
    assert sorted((r.dataset, r.config["seed"]) for r in records) == [
        ("mnist-5k", 5), ("mnist-5k", 6), ("mnist-5k/perm1", 5), ("mnist-5k/perm1", 6),
    ]  # fmt: skip
    # Trained as groups: the seeds of each dataset one group, both under one sweep.
    assert len({r.group_id for r in records if r.dataset == "mnist-5k"}) == 1
    assert len({r.group_id for r in records}) == 2 and None not in {r.group_id for r in records}
    assert len({r.sweep_id for r in records}) == 1
    for key, dataset in (("plain", "mnist-5k"), ("permuted", "mnist-5k/perm1")):
        accs = [r.final_val_acc for r in records if r.dataset == dataset]
        assert found[f"{key}_mean"] == pytest.approx(statistics.fmean(accs))
        assert found[f"{key}_sd"] == pytest.approx(statistics.stdev(accs))


def test_probe_permute_table_names_both_datasets(tmp_path: Path) -> None:
    args = ["probe", "permute", "linear", *TINY, "--seeds", "1", "--permute-pixels", "3", "--runs-dir", str(tmp_path)]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "mnist-5k/perm3" in result.stdout and "7,850" in result.stdout and "pts" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["linear", "--seeds", "0"], "--seeds 0"),
        (["linear", "lnear"], "unknown preset, file or layer 'lnear'"),
        (["linear", "--dataset", "mnist-5k/perm1"], "already shuffled"),
        (["linear", "--epochs", "0"], "epochs"),
    ],
)
def test_probe_permute_errors_are_one_line_and_exit_2_before_any_run(
    tmp_path: Path, args: list[str], words: str
) -> None:
    result = invoke("probe", "permute", *args, "--device", "cpu", "--runs-dir", str(tmp_path))
    assert result.exit_code == 2
    assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert RunStore(tmp_path).runs() == []


def test_the_probe_trains_plain_then_shuffled_through_the_callable_it_is_given() -> None:
    calls = []

    def train(arch: str, dataset: str, seeds: Sequence[int]) -> Trained:
        calls.append((arch, dataset, tuple(seeds)))
        accs = (0.9, 0.8) if dataset == "mnist-5k" else (0.7, 0.6)
        return Trained(arch.upper(), 123, accs)

    (found,) = permute_probe(["mlp"], train, [3, 4], permutation=7)
    assert calls == [("mlp", "mnist-5k", (3, 4)), ("mlp", "mnist-5k/perm7", (3, 4))]
    assert found == PermuteResult("MLP", 123, (0.9, 0.8), (0.7, 0.6))
    assert (found.plain_mean, found.permuted_mean, found.n) == pytest.approx((0.85, 0.65, 2))
    assert found.plain_sd == pytest.approx(statistics.stdev([0.9, 0.8]))
    assert found.change == pytest.approx(-0.2)
    assert PermuteResult("a", 1, (0.5,), (0.4,)).to_json()["plain_sd"] is None  # one seed has no sd
    with pytest.raises(ValueError, match="already shuffled"):
        permute_probe(["mlp"], train, [0], dataset="mnist-5k/perm1")
