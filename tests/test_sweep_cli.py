"""`cnn-tui sweep`, `compare --seeds`, `runs` folding groups and `runs show GROUP|SWEEP`: shapes, numbers, exits."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tui_cnn.cli import main
from tui_cnn.store.runs import RunStore

TINY = ["--epochs", "1", "--batch-size", "500", "--device", "cpu"]
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """`linear` under seeds 0 and 1 at two learning rates: two groups of two, one sweep."""
    root = tmp_path_factory.mktemp("runs")
    result = invoke(
        "sweep", "linear", "--seeds", "2", "--lr-list", "3e-3,1e-2", *TINY, "--runs-dir", str(root), "--json"
    )
    assert result.exit_code == 0, result.output
    return root, json.loads(result.stdout.splitlines()[-1])


def test_sweep_json_has_every_member_and_each_groups_spread(swept: tuple[Path, dict]) -> None:
    root, data = swept
    assert set(data) == {"sweep_id", "seconds", "samples_per_s", "runs", "groups"}
    assert data["samples_per_s"] > 0 and data["seconds"] > 0
    assert [(r["seed"], r["lr"], r["status"]) for r in data["runs"]] == [
        (0, 3e-3, "finished"), (1, 3e-3, "finished"), (0, 1e-2, "finished"), (1, 1e-2, "finished"),
    ]  # fmt: skip
    assert [(g["arch"], g["params"], g["lr"], g["n"]) for g in data["groups"]] == [
        ("linear", 7850, 3e-3, 2), ("linear", 7850, 1e-2, 2),
    ]  # fmt: skip
    for group in data["groups"]:
        accs = [r["val_acc"] for r in data["runs"] if r["group_id"] == group["group_id"]]
        assert group["val_acc_mean"] == pytest.approx(statistics.fmean(accs))
        assert group["val_acc_sd"] == pytest.approx(statistics.stdev(accs))
        assert (group["val_acc_min"], group["val_acc_max"]) == (min(accs), max(accs))
    store = RunStore(root)
    for r in data["runs"]:
        record = store.get(r["run_id"])
        assert (record.sweep_id, record.group_id, record.seed, record.lr) == (
            data["sweep_id"], r["group_id"], r["seed"], r["lr"],
        )  # fmt: skip


def test_a_sweep_member_is_its_solo_run(swept: tuple[Path, dict], tmp_path: Path) -> None:
    _, data = swept
    solo = invoke("train", "linear", "--seed", "1", "--lr", "1e-2", *TINY, "--runs-dir", str(tmp_path), "--json")
    member = next(r for r in data["runs"] if (r["seed"], r["lr"]) == (1, 1e-2))
    assert member["val_acc"] == pytest.approx(json.loads(solo.stdout.splitlines()[-1])["val_acc"], abs=2e-3)


def test_runs_folds_groups_and_all_unfolds_them(swept: tuple[Path, dict]) -> None:
    root, data = swept
    folded = invoke("runs", "--runs-dir", str(root))
    assert folded.exit_code == 0, folded.output
    for group in data["groups"]:
        assert group["group_id"] in folded.stdout
        assert f"{group['val_acc_mean'] * 100:.1f}±{group['val_acc_sd'] * 100:.1f}" in folded.stdout
    assert "linear x2" in folded.stdout
    assert not any(r["run_id"] in folded.stdout for r in data["runs"])
    unfolded = invoke("runs", "--runs-dir", str(root), "--all")
    assert all(r["run_id"] in unfolded.stdout for r in data["runs"])
    listed = json.loads(invoke("runs", "--runs-dir", str(root), "--json").stdout)
    assert len(listed["runs"]) == 4 and {g["group_id"] for g in listed["groups"]} == {
        g["group_id"] for g in data["groups"]
    }
    assert {g["val_acc_mean"] for g in listed["groups"]} == {g["val_acc_mean"] for g in data["groups"]}


def test_runs_show_a_group_or_a_sweep_gives_members_and_the_mean_curve(swept: tuple[Path, dict]) -> None:
    root, data = swept
    group = data["groups"][1]
    shown = json.loads(invoke("runs", "show", group["group_id"], "--runs-dir", str(root), "--json").stdout)
    assert [g["group_id"] for g in shown["groups"]] == [group["group_id"]]
    band = shown["groups"][0]["bands"][0]
    assert band["epoch"] == 1 and band["n"] == 2
    assert band["val_acc_mean"] == pytest.approx(group["val_acc_mean"])
    assert len(shown["runs"]) == 2
    sweep = invoke("runs", "show", data["sweep_id"][:-1], "--runs-dir", str(root))
    assert sweep.exit_code == 0, sweep.output
    assert all(g["group_id"] in sweep.stdout for g in data["groups"]) and "±" in sweep.stdout
    csv = invoke("runs", "show", group["group_id"], "--runs-dir", str(root), "--csv").stdout.splitlines()
    assert csv[0].startswith("group_id,epoch,n,val_acc_mean") and len(csv) == 2
    missing = invoke("runs", "show", "g-19990101", "--runs-dir", str(root))
    assert (
        missing.exit_code == 2 and "no run 'g-19990101'" in missing.stderr and "nor a group or sweep" in missing.stderr
    )


def test_compare_seeds_trains_each_arch_as_a_group_with_mean_and_sd(tmp_path: Path) -> None:
    result = invoke("compare", "linear", "mlp", "--seeds", "2", *TINY, "--runs-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    assert [(g["arch"], g["n"]) for g in data["groups"]] == [("linear", 2), ("mlp", 2)]
    assert [r["seed"] for r in data["runs"]] == [0, 1, 0, 1]
    table = invoke("compare", "linear", "--seeds", "2", *TINY, "--runs-dir", str(tmp_path))
    assert table.exit_code == 0 and "±" in table.stdout


def test_a_diverging_member_makes_the_sweep_exit_1_and_the_others_finish(tmp_path: Path) -> None:
    args = ["sweep", "mlp", "--seeds", "1", "--lr-list", "0.05,1e4", "--optimizer", "sgd", "--epochs", "1"]
    result = invoke(*args, "--batch-size", "100", "--device", "cpu", "--runs-dir", str(tmp_path), "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    assert [r["status"] for r in data["runs"]] == ["finished", "diverged"]
    assert [g["n"] for g in data["groups"]] == [1, 0] and data["groups"][1]["val_acc_mean"] is None
    assert "mlp seed 0: diverged" in result.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seeds", "2", "--seed-list", "1,2"], "not both"),
        (["--seed-list", "1,x"], "--seed-list 1,x: give numbers"),
        (["--seed-list", "3,3"], "appears twice"),
        (["--seeds", "0"], "at least one seed"),
        (["--lr-list", "1e-3,-1"], "lr"),
    ],
)
def test_bad_sweep_options_are_one_line_and_exit_2(args: list[str], words: str, tmp_path: Path) -> None:
    result = invoke("sweep", "linear", *args, *TINY, "--runs-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_terminated_sweep_exits_130_with_every_record_completed(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "tui_cnn", "sweep", "mlp", "linear", "--seeds", "2", "--epochs", "200"]
    command += ["--device", "cpu", "--runs-dir", str(tmp_path), "--json"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = RunStore(tmp_path)
    deadline = time.monotonic() + 60
    while len(store.runs()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert [r.status for r in store.runs()] == ["interrupted", "interrupted"]  # linear never started
    data = json.loads(out.splitlines()[-1])
    assert [r["status"] for r in data["runs"]] == ["interrupted", "interrupted"]


def test_a_folded_group_keeps_its_whole_id_at_80_columns() -> None:
    from rich.console import Console

    from tui_cnn.cli.tables import runs_table
    from tui_cnn.store.groups import fold
    from tui_cnn.store.runs import RunRecord

    def member(seed: int, status: str, acc: float) -> RunRecord:
        return RunRecord(
            f"20261125-06040{seed}-0c42", "simple_cnn", "", 5274, "mnist-5k", {"seed": seed, "lr": 3e-3}, "cpu", status,
            10, acc, acc, 0.1, 12.4, 29000.0, "2026-11-25T06:04:04+00:00", "", "g-20261125-060404-0c42", None,
        )  # fmt: skip

    console = Console(width=80, record=True)
    console.print(
        runs_table(fold([member(0, "finished", 0.94), member(1, "finished", 0.96), member(2, "diverged", 0.1)]))
    )
    text = console.export_text()
    assert "g-20261125-060404-0c42" in text and "95.0±1.4" in text and "1 diverged" in text
    assert max(len(line) for line in text.splitlines()) <= 80
