"""What the app costs training: samples/s in the app against headless, UI lag, key latency, memory.

    python benchmarks/app_overhead.py                    # simple_cnn, mnist-5k, 20 epochs, batch 64, 3 rounds
    python benchmarks/app_overhead.py --long-epochs 0    # without the 200-epoch memory runs
    python benchmarks/app_overhead.py --device cuda      # both sides training on the GPU

Every measurement is its own process, so its resident memory and torch's thread pool
are its own, and each round runs headless, the app watched, the app with keys and the
app with keys and the lag probe one after the other, so a busy machine slows all alike;
the figures are medians, and each round's ratios are listed too.

- Headless is what `cnn-tui train` does: the core `Trainer` in the main thread with
  torch's default thread pool, every event recorded in a runs store.
- The app is `CnnTuiApp(...).run_test()` with its defaults, after its start-up warm-up,
  training on a press of `t`. "Watched": nothing is pressed. "With keys": `2` and `3`
  (focus the Budget, then the Training pane) every `--key-every` seconds, sent through
  the driver as a terminal's input thread sends them; a key's latency runs from the
  send to the first paint after its action ran.
- Event-loop lag: how late each tick of a 10 ms `set_interval` timer comes (the gap
  between ticks less 10 ms), in a third app run per round, keys pressed as above. The
  timer is a probe that costs what it measures: its 100 wake-ups a second took 5-8% of the
  slow box's training (watched, 3 rounds: 0.886 of headless with it, 0.963 with a 100 ms
  tick), so the watched and keys runs, whose samples/s the floors judge, run without it.
  Those report instead the longest stretch the event loop ran without polling (its
  selector's calls, timed: no wake-ups), the most any input could have waited on the loop.
- Resident memory (RSS) while training; and in the long runs (mlp, batch 512, 200
  epochs), at epoch 10 against the last: flat when nothing accumulates.
- The UI thread's share of a core while the app trains, watched and with keys (this
  benchmark's own timer and looks included), to see what the UI costs; and the whole
  process's share, to see what training was left (on the slow box at most SHARE).

samples/s is the trainer's own figure (training time only, as stored in the runs
store), the same for all. Prints one JSON line.

The slow box (`--slow SHARE`, 0.5 if given alone): every measurement, headless and
app alike, may use only SHARE of each CPU it is allowed. Where this process can make
a cgroup (v1 `cpu` or v2 `cpu.max`, as root), that is a CPU quota, handed out in 10 ms
periods as a hypervisor hands a small cloud box its slices; elsewhere one competitor
process per CPU spins beside it (busy 2 x (1 - SHARE) of each 10 ms), a noisier
stand-in. The CPUs are whatever the process is allowed: `taskset -c 1 python ...`
gives it one core (torch's default thread count follows).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LAG_TICK = 0.01  # seconds: the timer whose delay measures the event loop's lag
KEY_EVERY = 0.5  # seconds between key presses while training
SLOW_PERIOD = 0.01  # seconds: the slow box's CPU quota period (and the fallback competitor's cycle)
SAMPLE_EVERY = 0.05  # seconds between the benchmark's own looks at the app (memory, epochs)
RSS_AT = 10  # the long run's early epoch, compared with its last


def rss_mb() -> float:
    """This process's resident memory now, in MiB (from /proc: no dependency)."""
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def config(args: argparse.Namespace) -> Any:
    from tui_cnn.training.config import TrainConfig

    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, device=args.device)


def stored(runs: str, run_id: str | None) -> dict[str, Any]:
    """The run's record: both sides report the trainer's own samples/s from there."""
    from tui_cnn.store.runs import RunStore

    store = RunStore.open(runs)
    try:
        record = store.get(run_id or "")
        if record is None:
            return {"status": "missing", "samples_per_s": 0.0, "val_acc": None}
        return {"status": record.status, "samples_per_s": record.samples_per_s, "val_acc": record.final_val_acc}
    finally:
        store.close()


# -- children: one measurement each ------------------------------------------------------------


def headless(args: argparse.Namespace, runs: str) -> dict[str, Any]:
    """As `cnn-tui train` does it: the Trainer in the main thread, torch's default threads."""
    from tui_cnn.architecture.presets import resolve
    from tui_cnn.store.runs import RunStore
    from tui_cnn.training.events import EpochEnd
    from tui_cnn.training.trainer import Trainer

    store = RunStore.open(runs)
    recorder = store.recorder()
    at: dict[int, float] = {}

    def on_event(event: Any) -> None:
        recorder(event)
        if isinstance(event, EpochEnd):
            at[event.epoch] = rss_mb()

    Trainer(resolve(args.arch), args.dataset, config(args), on_event).run()
    store.close()
    return {**stored(runs, recorder.run_id), "rss_mb": max(at.values()), "rss_by_epoch": at}


async def in_app(args: argparse.Namespace, runs: str) -> dict[str, Any]:
    from textual import events

    from tui_cnn.app import CnnTuiApp

    threads = {} if args.app_threads is None else {"torch_threads": args.app_threads or None}
    app = CnnTuiApp(arch=args.arch, dataset=args.dataset, config=config(args), runs_dir=runs, **threads)
    ticks: list[float] = []
    keys: list[float] = []
    rss: list[float] = []
    at: dict[int, float] = {}
    pressed = 0.0
    acted, painted = asyncio.Event(), asyncio.Event()

    def press(key: str) -> None:
        """A key as the terminal's input thread delivers one (pilot.press would wait for an idle app)."""
        app._driver.send_message(events.Key(key, key))

    def switch(index: int) -> None:
        """The key's action (switch panes): from now on the next paint shows its effect."""
        switch_pane(index)
        acted.set()

    def display(*a: Any, **k: Any) -> None:
        """The app's paint: the first one after the key's action ends that key's latency."""
        paint(*a, **k)
        if pressed and acted.is_set() and not painted.is_set():
            keys.append(time.perf_counter() - pressed)
            painted.set()

    paint, app._display = app._display, display
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.main.training
        switch_pane, app.main.action_pane = app.main.action_pane, switch
        while any(w.group == "warm-up" and not w.is_finished for w in app.workers):
            await asyncio.sleep(0.05)
        timer = app.set_interval(args.lag_tick, lambda: ticks.append(time.perf_counter())) if args.lag_tick else None
        busy = PollGaps(asyncio.get_running_loop())
        press("t")
        while pane.state in ("ready", "starting"):
            await asyncio.sleep(0.005)
        del ticks[:]
        busy.start()
        ui_cpu, cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
        next_key, target = wall + (args.key_every or float("inf")), 1
        while pane.running:
            await asyncio.sleep(SAMPLE_EVERY)
            rss.append(rss_mb())
            at.setdefault(len(pane.epochs), rss[-1])
            if time.perf_counter() < next_key:
                continue
            acted.clear()
            painted.clear()
            pressed = time.perf_counter()
            press(str(target + 1))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(painted.wait(), 1.0)
            pressed = 0.0
            assert app.main.current == target, "the key press did not switch panes"
            target = 3 - target  # Budget (index 1), then Training (2), ...
            next_key = time.perf_counter() + args.key_every
        busy.stop()
        if timer is not None:
            timer.stop()
        wall = time.perf_counter() - wall
        ui_share, cpu_share = (time.thread_time() - ui_cpu) / wall, (time.process_time() - cpu) / wall
        run_id = pane.run_id
        await pilot.press("q")
    lags = [max(0.0, b - a - args.lag_tick) * 1000 for a, b in zip(ticks, ticks[1:], strict=False)]
    return {
        **stored(runs, run_id),
        "rss_mb": max(rss, default=rss_mb()),
        "rss_by_epoch": {k: v for k, v in at.items() if k},
        "lags_ms": lags,
        "keys_ms": [k * 1000 for k in keys],
        "busy_ms_max": max(busy.gaps, default=0.0) * 1000,
        "ui_cpu_share": ui_share,
        "cpu_share": cpu_share,
    }


class PollGaps:
    """The stretches between the event loop's polls (selector calls), timed without waking it.

    Wraps the loop's selector: from one poll's return to the next poll's call the loop ran
    callbacks and could read no input, so the longest stretch bounds any input's wait on
    the loop (not the wait for the GIL before a poll returns, which the tick probe sees).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._selector = loop._selector  # type: ignore[attr-defined]
        self._select = self._selector.select
        self.gaps: list[float] = []
        self._returned: float | None = None

    def start(self) -> None:
        def select(timeout: float | None = None) -> Any:
            if self._returned is not None:
                self.gaps.append(time.perf_counter() - self._returned)
            try:
                return self._select(timeout)
            finally:
                self._returned = time.perf_counter()

        self._selector.select = select

    def stop(self) -> None:
        self._selector.select = self._select


def burn(busy: float) -> None:
    """The fallback competitor: spin for `busy` of every SLOW_PERIOD, sleep the rest, until killed."""
    while True:
        until = time.perf_counter() + busy * SLOW_PERIOD
        while time.perf_counter() < until:
            pass
        time.sleep((1 - busy) * SLOW_PERIOD)


def quota_group(share: float) -> Path | None:
    """A new cgroup giving its processes `share` of each allowed CPU in SLOW_PERIOD slices (None: none here)."""
    cpus, period = len(os.sched_getaffinity(0)), round(SLOW_PERIOD * 1e6)
    quota = max(1000, round(share * cpus * period))
    name = f"cnn-tui-bench-{os.getpid()}"
    for root, settings in (
        (Path("/sys/fs/cgroup/cpu"), {"cpu.cfs_period_us": period, "cpu.cfs_quota_us": quota}),  # v1
        (Path("/sys/fs/cgroup"), {"cpu.max": f"{quota} {period}"}),  # v2
    ):
        group = root / name
        try:
            group.mkdir(exist_ok=True)
            for file, value in settings.items():
                (group / file).write_text(f"{value}\n")
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            continue
        return group
    return None


def child(args: argparse.Namespace) -> None:
    if args.child == "burn":
        burn(args.slow)
        return
    with tempfile.TemporaryDirectory() as runs:
        result = headless(args, runs) if args.child == "headless" else asyncio.run(in_app(args, runs))
    print(json.dumps(result))


# -- the parent: alternate children, summarise -------------------------------------------------


def spawn(
    kind: str, args: argparse.Namespace, arch: str, epochs: int, batch: int, key_every: float = 0, probe: bool = False
) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--arch", arch]
    cmd += ["--dataset", args.dataset, "--epochs", str(epochs), "--batch-size", str(batch), "--device", args.device]
    cmd += ["--key-every", str(key_every), "--lag-tick", str(args.lag_tick if probe else 0)]
    if args.app_threads is not None:
        cmd += ["--app-threads", str(args.app_threads)]
    group = quota_group(args.slow) if args.slow else None
    competitors = []
    if args.slow and group is None:
        busy = min(1.0, 2 * (1 - args.slow))
        burner = [sys.executable, str(Path(__file__).resolve()), "--child", "burn", "--slow", str(busy)]
        competitors = [subprocess.Popen(burner) for _ in os.sched_getaffinity(0)]  # each inherits the CPUs

    def enter_group() -> None:
        if group is not None:
            (group / "cgroup.procs").write_text(f"{os.getpid()}\n")

    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, preexec_fn=enter_group).stdout
    finally:
        for competitor in competitors:
            competitor.kill()
            competitor.wait()
        if group is not None:
            group.rmdir()
    result = json.loads(out.strip().splitlines()[-1])
    if result["status"] != "finished":
        raise SystemExit(f"{kind} run did not finish: {result}")
    return result


def slow_by_quota(share: float) -> bool:
    group = quota_group(share)
    if group is not None:
        group.rmdir()
    return group is not None


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def long_run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Resident memory early and late in a long run: flat if nothing accumulates."""
    r = spawn(kind, args, args.long_arch, args.long_epochs, args.long_batch_size)
    by_epoch = {int(k): v for k, v in r["rss_by_epoch"].items()}
    early = min((e for e in by_epoch if e >= RSS_AT), default=min(by_epoch))  # the app samples every 50 ms
    last = max(by_epoch)
    return {
        "arch": args.long_arch,
        "epochs": args.long_epochs,
        "batch_size": args.long_batch_size,
        "samples_per_s": round(r["samples_per_s"]),
        f"rss_mb_epoch_{early}": round(by_epoch[early], 1),
        f"rss_mb_epoch_{last}": round(by_epoch[last], 1),
        "growth_mb": round(by_epoch[last] - by_epoch[early], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="simple_cnn")
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="where both sides train: cpu, cuda, ...")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of headless, app watched, app with keys")
    parser.add_argument("--key-every", type=float, default=KEY_EVERY, help="seconds between key presses")
    parser.add_argument("--lag-tick", type=float, default=LAG_TICK, help="the lag timer's interval in seconds")
    parser.add_argument("--long-arch", default="mlp", help="architecture of the long memory run")
    parser.add_argument("--long-epochs", type=int, default=200, help="epochs of the memory run (0: skip)")
    parser.add_argument("--long-batch-size", type=int, default=512)
    parser.add_argument("--app-threads", type=int, help="torch threads in the app (default: its own; 0: torch's)")
    parser.add_argument(
        "--slow",
        type=float,
        nargs="?",
        const=0.5,
        default=0.0,
        help="emulate a slow box: this share of each CPU, a quota where a cgroup can be made (alone: 0.5)",
    )
    parser.add_argument("--child", choices=("headless", "app", "burn"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    runs: dict[str, list[dict[str, Any]]] = {"headless": [], "app": [], "app_keys": [], "app_probed": []}
    for _ in range(args.repeat):
        runs["headless"].append(spawn("headless", args, args.arch, args.epochs, args.batch_size))
        runs["app"].append(spawn("app", args, args.arch, args.epochs, args.batch_size))
        runs["app_keys"].append(spawn("app", args, args.arch, args.epochs, args.batch_size, args.key_every))
        probed = spawn("app", args, args.arch, args.epochs, args.batch_size, args.key_every, probe=True)
        runs["app_probed"].append(probed)
    speed = {k: statistics.median(r["samples_per_s"] for r in v) for k, v in runs.items()}

    def rounds(kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Each round's headless run beside its app run: the ratio within a round, where the load was alike."""
        return list(zip(runs["headless"], runs[kind], strict=True))

    lags = [lag for r in runs["app_probed"] for lag in r["lags_ms"]]
    keys = [k for r in runs["app_keys"] for k in r["keys_ms"]]
    figures: dict[str, Any] = {
        "benchmark": "app_overhead",
        "arch": args.arch,
        "device": args.device,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "cpus": len(os.sched_getaffinity(0)),
        "slow_share": args.slow,
        "slow_by": ("cgroup quota" if slow_by_quota(args.slow) else "competitor") if args.slow else None,
        "headless_samples_per_s": round(speed["headless"]),
        "app_samples_per_s": round(speed["app"]),
        "app_vs_headless": round(speed["app"] / speed["headless"], 3),
        "app_keys_samples_per_s": round(speed["app_keys"]),
        "app_keys_vs_headless": round(speed["app_keys"] / speed["headless"], 3),
        "rounds_app_vs_headless": [round(a["samples_per_s"] / h["samples_per_s"], 3) for h, a in rounds("app")],
        "rounds_keys_vs_headless": [round(a["samples_per_s"] / h["samples_per_s"], 3) for h, a in rounds("app_keys")],
        "app_probed_vs_headless": round(speed["app_probed"] / speed["headless"], 3),
        "key_every_s": args.key_every,
        "lag_ms_p50": round(pct(lags, 0.5), 2),
        "lag_ms_p95": round(pct(lags, 0.95), 2),
        "lag_ms_max": round(max(lags), 2),
        "lag_ticks": len(lags),
        "busy_ms_max_watched": round(max(r["busy_ms_max"] for r in runs["app"]), 2),
        "busy_ms_max_keys": round(max(r["busy_ms_max"] for r in runs["app_keys"]), 2),
        "key_ms_median": round(statistics.median(keys), 2),
        "key_ms_p95": round(pct(keys, 0.95), 2),
        "key_ms_max": round(max(keys), 2),
        "keys": len(keys),
        "ui_cpu_share_median": round(statistics.median(r["ui_cpu_share"] for r in runs["app"]), 3),
        "ui_cpu_share_keys_median": round(statistics.median(r["ui_cpu_share"] for r in runs["app_keys"]), 3),
        "cpu_share_median": round(statistics.median(r["cpu_share"] for r in runs["app"]), 3),
        "cpu_share_keys_median": round(statistics.median(r["cpu_share"] for r in runs["app_keys"]), 3),
        "headless_rss_mb": round(statistics.median(r["rss_mb"] for r in runs["headless"]), 1),
        "app_rss_mb": round(statistics.median(r["rss_mb"] for r in runs["app"]), 1),
    }
    if args.long_epochs:
        figures["headless_long"] = long_run("headless", args)
        figures["app_long"] = long_run("app", args)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
