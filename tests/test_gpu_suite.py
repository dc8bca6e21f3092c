"""benchmarks/gpu_suite.py: its plan, its time limits, the wheels it unpacks, its floors, and a quick run on the CPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_suite.py"


@pytest.fixture(scope="module")
def suite():
    """The script as a module (benchmarks/ is no package), registered while the tests use it, as dataclasses need."""
    spec = importlib.util.spec_from_file_location("gpu_suite", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_suite"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["gpu_suite"]


def dry_run(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, str(SCRIPT), "out", "--dry-run", *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_plan_runs_the_benchmarks_first_and_compile_last() -> None:
    lines = dry_run()
    names = [line.split()[0] for line in lines]
    assert names == [
        "env",
        "epochs-eager",
        "epochs-graphs",
        "epochs-amp",
        "group",
        "app",
        "screenshot",
        "tests",
        "epochs-compile",
    ]
    full = dict(zip(names, lines, strict=True))
    assert "--train-size 60000 --epochs 3 --batch-sizes 64,512 --cuda-graphs" in full["epochs-graphs"]
    assert "--members 1 8 64 256" in full["group"] and "--device cuda" in full["app"]
    assert full["tests"].endswith("--ignore tests/test_gpu_suite.py")  # the whole suite, less this one
    quick = dict(zip(names, dry_run("--quick", "--device", "cpu"), strict=True))
    assert "--train-size 4000" in quick["epochs-eager"] and "--device cpu" in quick["group"]


def test_a_step_past_its_limit_is_killed_and_recorded(suite) -> None:
    slow = suite.Step("slow", [sys.executable, "-c", "import time; print('{}'); time.sleep(60)"], 60)
    result = suite.run_step(slow, 1.0, {})
    assert result["status"] == "timeout" and result["seconds"] < 10
    fine = suite.Step("fine", [sys.executable, "-c", "print('warming up'); print('{\"x\": 1}')"], 60)
    assert suite.run_step(fine, 30, {})["figures"] == {"x": 1}
    broken = suite.Step("broken", [sys.executable, "-c", "raise SystemExit('no CUDA')"], 60)
    result = suite.run_step(broken, 30, {})
    assert result["status"] == "failed" and "no CUDA" in result["stderr_tail"] and result["figures"] is None


def test_wheels_are_unpacked_without_pip(suite, tmp_path: Path) -> None:
    wheels = tmp_path / "whl"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / "carried-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("carried/__init__.py", "ANSWER = 42\n")
        wheel.writestr("carried-1.0.dist-info/METADATA", "Name: carried\nVersion: 1.0\n")
    site = tmp_path / "site"
    assert suite.install(wheels, site) == ["carried-1.0-py3-none-any.whl"]
    code = "import carried; print(carried.ANSWER)"
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(site)}, capture_output=True, text=True)
    assert out.stdout.strip() == "42"


def test_the_wheel_list_pins_this_environments_versions(suite) -> None:
    from importlib.metadata import version

    command = suite.wheel_list()
    assert command.startswith("python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12")
    assert f"textual=={version('textual')}" in command and f"pytest-asyncio=={version('pytest-asyncio')}" in command


def epochs(ms: float) -> dict:
    row = {"arch": "simple_cnn", "batch_size": 512, "status": "finished", "full_epoch_s": ms / 1000}
    return {"figures": {"runs": [row]}}


def test_floors_take_the_best_mode_and_say_what_was_not_measured(suite) -> None:
    steps = {
        "epochs-eager": epochs(180.0),
        "epochs-graphs": epochs(42.0),
        "group": {"figures": {"results": [{"groups": [{"members": 64, "ratio": 7.5}]}]}},
        "app": {"status": "timeout", "figures": None},
    }
    floors = {row["figure"].split(",")[0]: (row["measured"], row["met"]) for row in suite.floors(steps)}
    assert floors == {
        "simple_cnn batch 512": (42.0, True),
        "64 simple_cnn members vs one": (7.5, False),
        "app vs headless samples/s": (None, None),
    }


def test_junit_counts_and_names_the_failures(suite, tmp_path: Path) -> None:
    xml = tmp_path / "pytest.xml"
    sync = "test_an_epoch_never_waits_for_the_device_outside_the_reports[True]"
    xml.write_text(
        '<testsuites><testsuite tests="3" failures="1" errors="0" skipped="1">'
        f'<testcase classname="tests.test_graphs" name="{sync}">'
        '<failure message="RuntimeError: called a synchronizing CUDA operation"/></testcase>'
        '<testcase classname="tests.test_data" name="test_to_moves_every_tensor"><system-out>x</system-out></testcase>'
        '<testcase classname="tests.test_devices" name="test_x"><skipped message="needs CUDA"/></testcase>'
        "</testsuite></testsuites>"
    )
    found = suite.junit(xml)
    name = f"tests.test_graphs::{sync}"
    assert found["failed"] == [name] and found["sync_debug"] == {name: "failure"}
    assert (found["tests"], found["failures"], found["skipped"]) == (3, 1, 1)


def test_a_quick_run_on_the_cpu_writes_one_json_file_and_a_table(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), str(tmp_path), "--device", "cpu", "--quick", "--only", "env,epochs-graphs"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    (written,) = tmp_path.glob("*.json")
    report = json.loads(written.read_text())
    assert report["env"]["device"].startswith("CPU") and report["steps"]["epochs-graphs"]["status"] == "ok"
    runs = report["steps"]["epochs-graphs"]["figures"]["runs"]
    assert {r["arch"] for r in runs} == {"simple_cnn", "mlp"} and all(r["status"] == "finished" for r in runs)
    assert "cuda graphs ignored on cpu" in runs[0]["notes"]
    table = done.stdout.split(f"wrote {written}\n")[1]
    assert table.splitlines()[0].startswith("CPU") and "simple_cnn batch 512, ms per 60,000-image epoch" in table
