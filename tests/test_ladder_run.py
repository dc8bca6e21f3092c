"""The ladder trained: every rung a seed group, each reported as it finishes, and `cnn-tui ladder`'s output."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_cnn.cli import main
from tui_cnn.experiments.ladder import RUNGS, RungResult
from tui_cnn.experiments.ladder_run import ladder_results, ladder_sweep
from tui_cnn.store.runs import RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset

from .subsets import first_digits

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

PARAMS = {"mlp": 39_760, "dense_cnn": 1_040_866, "local_cnn": 51_762, "simple_cnn": 5_274}


def test_each_rung_is_reported_as_its_group_finishes(tmp_path: Path, mnist5k: Dataset) -> None:
    store = RunStore(tmp_path)
    heard: list[tuple[RungResult, int]] = []
    config = TrainConfig(epochs=1, batch_size=64, device="cpu", weights_every=0.0)
    sweep = ladder_sweep(
        first_digits(mnist5k, 128, 100), config, [0, 1], store, on_rung=lambda r: heard.append((r, len(store.runs())))
    )
    result = sweep.run()
    assert result.status == "finished"
    assert [r.arch for r, _ in heard] == [rung.arch for rung in RUNGS]
    assert [stored for _, stored in heard] == [2, 4, 6, 8]  # each rung heard before the next one trained
    for (rung_result, _), rung in zip(heard, RUNGS, strict=True):
        members = [r for r in result.runs if r["arch"] == rung.arch]
        assert [m["seed"] for m in members] == [0, 1]
        assert (rung_result.params, rung_result.locality, rung_result.sharing) == (
            PARAMS[rung.arch], rung.locality, rung.sharing,
        )  # fmt: skip
        assert rung_result.n == 2
        assert rung_result.val_acc_mean == pytest.approx(statistics.fmean(m["val_acc"] for m in members))
        assert rung_result.val_acc_sd == pytest.approx(statistics.stdev(m["val_acc"] for m in members))
    assert ladder_results(result.groups) == [r for r, _ in heard]


def test_cli_ladder_json_and_table(tmp_path: Path) -> None:
    args = ["ladder", "--seeds", "2", "--epochs", "1", "--batch-size", "500", "--device", "cpu"]
    result = CliRunner().invoke(main, [*args, "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    rungs = data["rungs"]
    assert [r["arch"] for r in rungs] == ["mlp", "dense_cnn", "local_cnn", "simple_cnn"]
    assert set(rungs[0]) == {"arch", "params", "locality", "sharing", "n", "val_acc_mean", "val_acc_sd"}
    assert {r["arch"]: r["params"] for r in rungs} == PARAMS and all(r["n"] == 2 for r in rungs)
    assert data["factors"]["locality"] == pytest.approx(1_040_866 / 51_762)
    assert data["verdict"].startswith("locality cuts the parameters 20.1x")
    assert len(RunStore(tmp_path).members(data["sweep_id"])) == 8
