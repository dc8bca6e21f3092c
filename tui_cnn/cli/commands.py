"""`cnn-tui`: the app with no subcommand, and the same core headless for scripts.

This module only parses options and hands over to the core (and to `tables` for
output). torch is imported inside the commands that train, so `--help` and the
budget commands start instantly.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import click

from ..architecture.presets import PRESETS, resolve
from ..architecture.spec import ParseError, Spec, parse_shape

if TYPE_CHECKING:
    import torch

    from ..experiments.sweep import Sweep, SweepCallback, SweepResult
    from ..store.runs import RunRecord, RunStore
    from ..training.config import TrainConfig
    from ..training.events import Checkpoint, Ended

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class BadInput(click.ClickException):
    """A one-line message and exit status 2: bad specs, shapes, options or files."""

    exit_code = EXIT_BAD_INPUT


def _spec(arch: str, input_shape: str | None = None) -> Spec:
    spec = resolve(arch)
    if isinstance(spec, ParseError):
        raise BadInput(str(spec) if spec.path else f"{arch if len(arch) < 60 else 'architecture'}: {spec}")
    if input_shape:
        shape = parse_shape(input_shape)
        if isinstance(shape, ParseError):
            raise BadInput(shape.message)
        spec = Spec(layers=spec.layers, name=spec.name, input_shape=shape)
    return spec


def _arch_name(arch: str, spec: Spec) -> str:
    """The preset or file name, else the line itself (as the run store shows it)."""
    return spec.name if spec.name != "custom" else spec.line()


def train_options(f: Callable) -> Callable:
    """The hyper-parameter options shared by the app, `train` and `compare`."""
    options = [
        click.option("--dataset", default="mnist-5k", show_default=True, help="mnist-5k (offline), mnist, ..."),
        click.option(
            "--permute-pixels",
            type=int,
            metavar="SEED",
            help="shuffle every image's pixels by one permutation drawn from SEED (dataset NAME/permSEED)",
        ),
        click.option("--epochs", type=int, default=10, show_default=True),
        click.option("--batch-size", type=int, default=64, show_default=True),
        click.option("--lr", type=float, default=3e-3, show_default=True, help="learning rate"),
        click.option("--optimizer", type=click.Choice(["adam", "adamw", "sgd"]), default="adam", show_default=True),
        click.option("--weight-decay", type=float, default=0.0, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option(
            "--device",
            default="auto",
            show_default=True,
            help="auto (cuda, mps, cpu), cuda[:N], mps, cpu; sweep, compare --seeds and ladder also take a list,"
            " one group per device at once (cuda:0,cuda:1; cpu,cpu overlaps two on a many-core CPU), or all"
            " (every CUDA device; without CUDA the one device auto picks)",
        ),
        click.option("--amp", is_flag=True, help="bf16 autocast (CUDA; ignored with a notice on the CPU)"),
        click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (CUDA)"),
        click.option("--cuda-graphs", is_flag=True, help="replay each training step as one captured CUDA graph (CUDA)"),
        click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store"),
        click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _config(opts: dict[str, Any]) -> TrainConfig:
    from ..training.config import TrainConfig

    config = TrainConfig(
        epochs=opts["epochs"],
        batch_size=opts["batch_size"],
        lr=opts["lr"],
        optimizer=opts["optimizer"],
        weight_decay=opts["weight_decay"],
        seed=opts["seed"],
        device=opts["device"],
        amp=opts["amp"],
        compile=opts["compile_"],
        cuda_graphs=opts["cuda_graphs"],
    )
    problem = config.validate()
    if problem:
        raise BadInput(problem)
    return config


def _a_list(device: str) -> bool:
    """Whether `--device` names several devices (cuda:0,cuda:1) or all of them."""
    return "," in device or device.strip().lower() == "all"


def _one_device(opts: dict[str, Any]) -> None:
    """BadInput for a device list (or all) where one model or run trains: lists share groups out."""
    text = opts["device"]
    if _a_list(text):
        raise BadInput(
            f"--device {text}: a list of devices (or all) is for sweep, compare --seeds and ladder,"
            " which train one group per device; give one device here"
        )


def _sweep_devices(opts: dict[str, Any]) -> list[torch.device]:
    """The devices a sweep's groups share out, or [] for one device, trained as without a list.

    With a list (or all), `opts["device"]` becomes its first device: the data loads there,
    and each worker moves it to its own device once.
    """
    from ..training.devices import DeviceError, pick_many

    text = opts["device"]
    try:
        devices = pick_many(text)
    except DeviceError as exc:
        raise BadInput(str(exc)) from exc
    if _a_list(text):
        opts["device"] = str(devices[0])
    return devices if len(devices) > 1 else []


def _dataset(opts: dict[str, Any]) -> str:
    """The dataset's recorded name: `--dataset`, shuffled by `--permute-pixels` (`mnist-5k/perm1`)."""
    from ..training.transforms import permuted_name, split_name

    seed = opts.get("permute_pixels")
    if seed is not None and split_name(opts["dataset"])[1] is not None:
        raise BadInput(f"--permute-pixels {seed}: the dataset {opts['dataset']} is already shuffled")
    try:
        return permuted_name(opts["dataset"], seed)
    except ValueError as exc:
        raise BadInput(f"--permute-pixels: {exc}") from exc


def _store(runs_dir: str | None) -> RunStore:
    from ..store.runs import RunStore, StoreError

    try:
        return RunStore.open(runs_dir)
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


def _load_data(name: str, data_dir: str | None, device: str) -> Any:
    from ..training.data import DataError, load
    from ..training.devices import DeviceError, pick

    try:
        return load(name, data_dir, device=pick(device))
    except (DataError, DeviceError) as exc:
        raise BadInput(str(exc)) from exc


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--arch", default="simple_cnn", show_default=True, help="preset, spec file or line to start with")
@train_options
@click.version_option(package_name="cnn-tui")
@click.pass_context
def main(ctx: click.Context, arch: str, **opts: Any) -> None:
    """A terminal lab for small CNNs: why do 5,274 CNN parameters match 39,760 MLP ones on MNIST?

    With no command, opens the app. Commands run the same core headless.
    """
    if ctx.invoked_subcommand is not None:
        return
    _spec(arch)  # fail fast, before the screen is taken over
    _one_device(opts)
    from ..app import run_app

    status = run_app(
        arch=arch, dataset=_dataset(opts), config=_config(opts), runs_dir=opts["runs_dir"], data_dir=opts["data_dir"]
    )
    sys.exit(status)


def run() -> None:
    """The `cnn-tui` command: `main`, then, once torch is loaded, an exit without its teardown.

    The interpreter's teardown after torch (freeing every module, then torch's C++
    destructors) takes 0.3 s here: a tenth of a short `cnn-tui train`, and a pause after
    quitting the app. Everything it would finish is finished first: other threads are
    joined, exit handlers run (logging's among them) and the streams are flushed.
    """
    try:
        main(prog_name="cnn-tui")
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    if "torch" not in sys.modules:
        sys.exit(code)
    if not isinstance(code, int):  # None is success; anything else is a message, as sys.exit prints it
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: Python's own exit reports it as 120
            code = code or 120
    os._exit(code)


@main.command()
@click.argument("arch")
@click.option("--input", "input_shape", help="input shape CxHxW (default 1x28x28)")
@click.option("--json", "as_json", is_flag=True, help="print the budget as JSON")
def summary(arch: str, input_shape: str | None, as_json: bool) -> None:
    """Per-layer output shape, parameters, multiply-adds and dense equivalent of ARCH.

    ARCH is a preset name, a spec file or a line such as 'conv 4 s2 | relu | flatten'.
    """
    from ..architecture.budget import budget_of

    spec = _spec(arch, input_shape)
    budget = budget_of(spec)
    if as_json:
        click.echo(json.dumps(budget.to_json()))
    else:
        from .tables import console, summary_table

        console().print(summary_table(spec, budget))
    if not budget.ok:
        raise BadInput(f"layer {budget.error.index} ({budget.error.spec}): {budget.error.error}")


@main.command()
@click.argument("arch")
@click.option("--input", "input_shape", help="input shape CxHxW (default 1x28x28)")
def code(arch: str, input_shape: str | None) -> None:
    """Print ARCH as runnable PyTorch source (an nn.Sequential)."""
    from ..architecture.build import to_code
    from ..architecture.spec import SpecError

    try:
        click.echo(to_code(_spec(arch, input_shape)), nl=False)
    except SpecError as exc:
        raise BadInput(str(exc)) from exc


@main.command()
@click.option("--json", "as_json", is_flag=True)
def presets(as_json: bool) -> None:
    """List the preset architectures."""
    from ..architecture.budget import budget_of
    from ..architecture.presets import preset

    if as_json:
        data = [
            {"name": n, "line": line, "description": d, "params": budget_of(preset(n)).total_params}
            for n, (line, d) in PRESETS.items()
        ]
        click.echo(json.dumps({"presets": data}))
        return
    from .tables import console, presets_table

    console().print(presets_table())


def _train_one(
    arch: str,
    opts: dict[str, Any],
    as_json: bool,
    quiet: bool = False,
    resume: tuple[RunRecord, Checkpoint, TrainConfig] | None = None,
) -> tuple[str, Ended, dict]:
    """Train one architecture with progress on stderr; the run lands in the store (or continues `resume`)."""
    from ..training.torch_import import import_torch

    import_torch()
    from ..architecture.budget import budget_of, check_trainable
    from ..experiments.run import Run
    from .tables import TrainProgress

    spec = _spec(arch)
    config = resume[2] if resume else _config(opts)
    data = _load_data(_dataset(opts), opts["data_dir"], config.device)
    budget = budget_of(spec, data.input_shape)
    problem = check_trainable(budget, data.num_classes)
    if problem:
        raise BadInput(problem)
    name = resume[0].arch if resume else _arch_name(arch, spec)
    with TrainProgress(name, quiet=quiet) as progress:
        continued = (resume[0], resume[1]) if resume else None
        run = Run(spec, data, config, _store(opts["runs_dir"]), progress, arch=name, resume=continued)
        with StopOnSignals(run.stop):
            ended = run.run()
    result = run.to_json(budget.total_params)
    if ended.status != "finished":
        click.echo(f"{ended.status}: {ended.message}", err=True)
    return run.run_id, ended, result


class StopOnSignals:
    """SIGTERM and SIGHUP (a dropped SSH session) stop the run cleanly between steps."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop = stop
        self.saved: dict[int, Any] = {}

    def __enter__(self) -> None:
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                self.saved[sig] = signal.signal(sig, lambda *_: self.stop())

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


def _exit_code(status: str) -> int:
    return {"finished": 0, "interrupted": EXIT_INTERRUPTED}.get(status, 1)


def seed_options(f: Callable) -> Callable:
    """--seeds N | --seed-list 0,3,7: the seeds of every group (`sweep`, `ladder`, `probe permute`)."""
    f = click.option("--seed-list", metavar="0,3,7", help="these seeds instead of --seeds")(f)
    return click.option("--seeds", "n_seeds", type=int, metavar="N", help="N seeds, from --seed up")(f)


def _seeds(opts: dict[str, Any], default: int = 3) -> list[int]:
    """The group's seeds from --seeds N (from --seed up) or --seed-list; BadInput for both, none or repeats."""
    n, listed = opts.pop("n_seeds", None), opts.pop("seed_list", None)
    if n is not None and listed is not None:
        raise BadInput("give --seeds N or --seed-list, not both")
    if listed is not None:
        seeds = _numbers(listed, int, "--seed-list")
        if len(set(seeds)) != len(seeds):
            raise BadInput(f"--seed-list {listed}: a seed appears twice")
        return seeds
    n = default if n is None else n
    if n < 1:
        raise BadInput(f"--seeds {n}: a group needs at least one seed")
    return list(range(opts["seed"], opts["seed"] + n))


def _numbers(text: str, kind: type, option: str) -> list:
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BadInput(f"{option} {text}: give numbers separated by commas") from None
    if not values:
        raise BadInput(f"{option} {text}: give at least one number")
    return values


def _sweep_data(
    archs: Sequence[str], opts: dict[str, Any], lrs: Sequence[float] = ()
) -> tuple[list, Any, TrainConfig, list[torch.device]]:
    """The specs (name, spec), the data on the device, the base config and the devices to share the groups out
    over ([]: one); BadInput for any that cannot train."""
    from ..training.torch_import import import_torch

    import_torch()
    from ..architecture.budget import budget_of, check_trainable

    devices = _sweep_devices(opts)
    base = _config(opts)
    for lr in lrs:
        _config({**opts, "lr": lr})
    specs = [(_arch_name(arch, spec), spec) for arch, spec in ((a, _spec(a)) for a in archs)]
    data = _load_data(_dataset(opts), opts["data_dir"], base.device)
    for name, spec in specs:
        problem = check_trainable(budget_of(spec, data.input_shape), data.num_classes)
        if problem:
            raise BadInput(f"{name}: {problem}")
    return specs, data, base, devices


def _run_sweep(build: Callable[[SweepCallback], Sweep]) -> SweepResult:
    """Run the sweep `build` makes (given the progress callback): one bar per group on stderr."""
    from .tables import SweepProgress

    with SweepProgress() as progress:
        sweep = build(progress)
        with StopOnSignals(sweep.stop):
            result = sweep.run()
    for notice in result.notices:
        click.echo(f"note: {notice}", err=True)
    return result


def _train_sweep(
    archs: Sequence[str],
    opts: dict[str, Any],
    seeds: Sequence[int],
    lrs: Sequence[float] | None = None,
    sweep_id: str | None = None,
) -> SweepResult:
    """Train each ARCH as one group of every seed x lr; every member lands in the store (under `sweep_id`)."""
    from ..experiments.sweep import Sweep, member_configs

    specs, data, base, devices = _sweep_data(archs, opts, lrs or ())
    store = _store(opts["runs_dir"])
    configs = member_configs(base, seeds, list(lrs or [base.lr]))
    return _run_sweep(lambda progress: Sweep(specs, data, configs, store, progress, sweep_id=sweep_id, devices=devices))


def _resumable(
    ctx: click.Context, arch: str | None, run_id: str, opts: dict[str, Any]
) -> tuple[str, tuple[RunRecord, Checkpoint, TrainConfig]]:
    """The run to continue, its checkpoint and its new config; BadInput for what cannot change."""
    from ..experiments.run import continuation

    given = {
        ("compile" if name == "compile_" else name): value
        for name, value in opts.items()
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    }
    asked_data = given.pop("dataset", None) is not None, given.pop("permute_pixels", None) is not None
    dataset = _dataset(opts) if any(asked_data) else None  # as it would be recorded, shuffled or not
    given.pop("runs_dir", None)
    given.pop("data_dir", None)
    try:
        line = _spec(arch).line() if arch is not None else None
        c = continuation(_store(opts["runs_dir"]), run_id, given, line=line, dataset=dataset)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    opts["dataset"], opts["permute_pixels"] = c.record.dataset, None
    return c.record.line, (c.record, c.checkpoint, c.config)


@main.command()
@click.argument("arch", required=False)
@train_options
@click.option("--resume", "resume_id", metavar="RUN_ID", help="continue RUN_ID after its last epoch (--epochs: total)")
@click.option("--json", "as_json", is_flag=True, help="last stdout line: the run as JSON")
@click.pass_context
def train(ctx: click.Context, arch: str | None, resume_id: str | None, as_json: bool, **opts: Any) -> None:
    """Train ARCH headless; the run lands in the runs store.

    With --resume RUN_ID, continue that run (same id) from its last completed epoch; the
    learning rate, weight decay, epochs and device may change, the rest may not.

    Exit status: 0 finished, 1 diverged or failed, 2 bad input, 130 interrupted.
    """
    _one_device(opts)
    resume = None
    if resume_id:
        arch, resume = _resumable(ctx, arch, resume_id, opts)
    elif arch is None:
        raise BadInput("give an ARCH to train, or --resume RUN_ID to continue a run")
    _, ended, result = _train_one(arch, opts, as_json, resume=resume)
    if as_json:
        click.echo(json.dumps(result))
    else:
        from .tables import console, ended_line

        console().print(ended_line(result, ended))
    sys.exit(_exit_code(ended.status))


@main.command()
@click.argument("archs", nargs=-1, required=True)
@train_options
@click.option("--seeds", "n_seeds", type=int, metavar="N", help="train each ARCH as a group of N seeds (mean ± sd)")
@click.option("--json", "as_json", is_flag=True)
def compare(archs: tuple[str, ...], as_json: bool, n_seeds: int | None, **opts: Any) -> None:
    """Train each ARCH in turn with the same settings and compare them.

    With --seeds N, each ARCH trains as one group of N seeds (from --seed up) and the table
    shows val acc as mean ± sd; --json then adds "groups" and "sweep_id".
    """
    for arch in archs:
        _spec(arch)  # every spec checked before the first one trains
    if n_seeds is not None:
        result = _train_sweep(archs, opts, _seeds({**opts, "n_seeds": n_seeds}))
        if as_json:
            click.echo(json.dumps(result.to_json()))
        else:
            from .tables import compare_groups_table, console

            console().print(compare_groups_table(result))
        sys.exit(_exit_code(result.status))
    _one_device(opts)
    results = []
    status = "finished"
    for arch in archs:
        _, ended, result = _train_one(arch, opts, as_json)
        results.append(result)
        if ended.status != "finished":
            status = ended.status
            if ended.status == "interrupted":
                break
    if as_json:
        click.echo(json.dumps({"runs": results}))
    else:
        from .tables import compare_table, console

        console().print(compare_table(results))
    sys.exit(_exit_code(status))


def _write_csv(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """A header and one line per row on stdout, for spreadsheets and pandas."""
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


@main.group(invoke_without_command=True)
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--all", "unfold", is_flag=True, help="every run on its own line: groups unfolded")
@click.option("--json", "as_json", is_flag=True, help='{"runs": [every run], "groups": [each group folded]}')
@click.option("--csv", "as_csv", is_flag=True, help="one CSV row per run on stdout")
@click.pass_context
def runs(ctx: click.Context, runs_dir: str | None, unfold: bool, as_json: bool, as_csv: bool) -> None:
    """List the runs in the store (newest first), each group folded into one line (mean ± sd, n)."""
    ctx.obj = runs_dir
    if ctx.invoked_subcommand is not None:
        return
    from ..store.groups import fold, groups

    store = _store(runs_dir)
    records = store.runs()
    if as_json:
        click.echo(
            json.dumps(
                {"runs": [r.to_json() for r in records], "groups": [g.to_json() for g in groups(store, records)]}
            )
        )
        return
    if as_csv:
        from ..store.runs import RUN_CSV_COLUMNS

        _write_csv(RUN_CSV_COLUMNS, [r.csv_row() for r in records])
        return
    from .tables import console, runs_table

    out = console()
    out.print(runs_table(records if unfold else fold(records), cap_arch=out.is_terminal))


@runs.command("show")
@click.argument("run_id", metavar="RUN_ID|GROUP_ID|SWEEP_ID")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="runs store")
@click.option("--json", "as_json", is_flag=True)
@click.option("--csv", "as_csv", is_flag=True, help="the per-epoch metrics as CSV on stdout")
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, runs_dir: str | None, as_json: bool, as_csv: bool) -> None:
    """Show one run with its per-epoch curve, or a group's (or a sweep's groups') members and mean curve."""
    store = _store(runs_dir or ctx.obj)
    record = store.get(run_id)
    if record is None:
        members = store.members(run_id)
        if not members:
            raise BadInput(f"no run {run_id!r} in {store.root}, nor a group or sweep")
        _show_groups(store, members, as_json, as_csv)
        return
    metrics = store.metrics(record.run_id)
    if as_json:
        click.echo(json.dumps({**record.to_json(), "metrics": [m.__dict__ for m in metrics]}))
        return
    if as_csv:
        from ..store.runs import METRICS_CSV_COLUMNS

        _write_csv(METRICS_CSV_COLUMNS, [{"run_id": record.run_id, **m.__dict__} for m in metrics])
        return
    from .tables import console, run_panel

    console().print(run_panel(record, metrics))


def _show_groups(store: RunStore, members: list[RunRecord], as_json: bool, as_csv: bool) -> None:
    """`runs show` for a group or a sweep: each group's members and its curve as mean ± sd an epoch."""
    from ..store.groups import BAND_CSV_COLUMNS, by_group, group_bands

    found = [(g, group_bands(store, g)) for g in by_group(members)]
    if as_json:
        shown = [{**g.to_json(), "bands": [b.to_json() for b in bands]} for g, bands in found]
        click.echo(json.dumps({"groups": shown, "runs": [r.to_json() for r in members]}))
        return
    if as_csv:
        rows = [{"group_id": g.group_id, **b.to_json()} for g, bands in found for b in bands]
        _write_csv(BAND_CSV_COLUMNS, rows)
        return
    from .tables import console, group_panel

    out = console()
    for g, bands in found:
        out.print(group_panel(g, [r for r in members if r.group_id == g.group_id], bands))


@main.command("export")
@click.argument("run_id")
@click.option("--out", type=click.Path(file_okay=False), help="folder to write (default: export-RUN_ID)")
@click.option("--format", "fmt", type=click.Choice(["pytorch", "onnx", "torchscript"]), default="pytorch")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
def export(run_id: str, out: str | None, fmt: str, runs_dir: str | None, data_dir: str | None) -> None:
    """Write RUN_ID's model out (model.py + safetensors, ONNX or TorchScript), checked on its validation set."""
    from pathlib import Path

    from ..training.torch_import import import_torch

    import_torch()
    from ..store.export import ExportError, export_run

    store = _store(runs_dir)
    record = store.get(run_id)
    folder = Path(out) if out else Path(f"export-{record.run_id if record else run_id}")
    try:
        done = export_run(store, run_id, folder, fmt, data_dir)
    except ExportError as exc:
        raise BadInput(str(exc)) from exc
    from .tables import console, exported_line

    console().print(exported_line(done))


def _stdin_is_a_terminal() -> bool:
    """Whether a question can be answered: a script or a pipe must say --yes instead."""
    return sys.stdin.isatty()


@runs.command("rm")
@click.argument("run_ids", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="do not ask (for scripts)")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="runs store")
@click.pass_context
def runs_rm(ctx: click.Context, run_ids: tuple[str, ...], yes: bool, runs_dir: str | None) -> None:
    """Delete runs with their weights and checkpoints (asks first unless --yes)."""
    from ..store.runs import StoreError

    store = _store(runs_dir or ctx.obj)
    records = []
    for run_id in dict.fromkeys(run_ids):
        record = store.get(run_id)
        if record is None:
            raise BadInput(f"no run {run_id!r} in {store.root} (nothing deleted)")
        if record.status == "running":
            raise BadInput(f"run {record.run_id} is still running (nothing deleted)")
        records.append(record)
    names = ", ".join(f"{r.run_id} ({r.arch})" for r in records)
    if not yes:
        if not _stdin_is_a_terminal():
            raise BadInput(f"not deleting {len(records)} run(s) without --yes: no terminal to ask on")
        click.confirm(f"delete {names}?", abort=True, err=True)
    try:
        for record in records:
            store.delete(record.run_id)
    except StoreError as exc:
        raise BadInput(str(exc)) from exc
    click.echo(f"deleted {names}", err=True)


@main.group()
def data() -> None:
    """Datasets: list what is present, fetch what is not."""


@data.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
@click.option("--json", "as_json", is_flag=True)
def data_list(data_dir: str | None, as_json: bool) -> None:
    """Show the datasets and whether each is present."""
    from ..training.data import available

    infos = available(data_dir)
    if as_json:
        click.echo(json.dumps({"datasets": [info.__dict__ for info in infos]}, default=str))
        return
    from .tables import console, data_table

    console().print(data_table(infos))


@data.command("fetch")
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
def data_fetch(name: str, data_dir: str | None) -> None:
    """Download dataset NAME (needs the internet), with progress."""
    from ..training.data import DataError, fetch
    from .tables import DownloadProgress

    try:
        with DownloadProgress(name) as progress:
            path = fetch(name, data_dir, progress=progress)
    except DataError as exc:
        raise BadInput(str(exc)) from exc
    click.echo(f"{name} is ready in {path}", err=True)


@main.command()
@click.argument("arch")
@click.option("--layer", type=int, help="the conv layer's index in ARCH (default: the first conv)")
@click.option("--input", "input_shape", help="input shape CxHxW for the unrolled matrix (default small)")
@click.option("--json", "as_json", is_flag=True)
def matrix(arch: str, layer: int | None, input_shape: str | None, as_json: bool) -> None:
    """A conv layer as the sparse matrix it multiplies by: shared weights, structural zeros."""
    from ..lessons.matrix import layer_matrix

    spec = _spec(arch)
    shape = None
    if input_shape:
        shape = parse_shape(input_shape)
        if isinstance(shape, ParseError):
            raise BadInput(shape.message)
    result = layer_matrix(spec, layer, in_shape=shape)
    if isinstance(result, str):
        raise BadInput(result)
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    from .tables import console, matrix_view

    console().print(matrix_view(result))


@main.command()
@click.argument("arch")
@click.option("--input", "input_shape", help="input shape CxHxW (default 1x28x28)")
@click.option("--json", "as_json", is_flag=True)
def rf(arch: str, input_shape: str | None, as_json: bool) -> None:
    """Receptive field, jump and input coverage of every layer of ARCH."""
    from ..lessons.fields import receptive_fields

    spec = _spec(arch, input_shape)
    fields = receptive_fields(spec)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "layers": [
                        {
                            "index": r.index,
                            "kind": r.kind,
                            "rf": r.rf,
                            "jump": r.jump,
                            "start": r.start,
                            "coverage": r.coverage,
                        }
                        for r in fields
                    ]
                }
            )
        )
        return
    from .tables import console, rf_table

    console().print(rf_table(fields))


@main.group()
def probe() -> None:
    """What a CNN's structure assumes about images: shifted digits, shuffled pixels."""


@probe.command("shift")
@click.argument("run_ids", nargs=-1, required=True, metavar="RUN|GROUP|SWEEP [...]")
@click.option("--max", "max_k", type=int, default=4, show_default=True, help="shifts of up to K pixels each way")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
@click.option("--json", "as_json", is_flag=True)
def probe_shift(
    run_ids: tuple[str, ...], max_k: int, runs_dir: str | None, data_dir: str | None, as_json: bool
) -> None:
    """Each RUN's validation accuracy with every digit shifted by (dx, dy) in [-K, K]^2.

    A group or sweep id probes each group's finished members and reports mean ± sd per
    shift (under "groups" in the JSON). A run trained on shuffled pixels is probed on its
    own shuffled digits.
    """
    from ..lessons.shift import MAX_SHIFT
    from ..store.groups import by_group

    if not 1 <= max_k <= MAX_SHIFT:
        raise BadInput(f"--max {max_k}: shifts go from 1 to {MAX_SHIFT} pixels")
    store = _store(runs_dir)
    records, groups = [], []
    for run_id in run_ids:
        record = store.get(run_id)
        if record is not None:
            records.append(record)
            continue
        members = store.members(run_id)
        if not members:
            raise BadInput(f"no run {run_id!r} in {store.root}, nor a group or sweep")
        for group in by_group(members):
            finished = [r for r in members if r.group_id == group.group_id and r.status == "finished"]
            if not finished:
                raise BadInput(f"group {group.group_id} has no finished member to probe")
            groups.append((group, finished))
    from ..training.torch_import import import_torch

    import_torch()
    from ..experiments.probes import group_shifts

    datasets: dict[str, Any] = {}
    results = [_shift_run(store, r, datasets, data_dir, max_k) for r in records]
    grouped = []
    for group, finished in groups:
        probed = [_shift_run(store, r, datasets, data_dir, max_k) for r in finished]
        triples = [[(s["dx"], s["dy"], s["val_acc"]) for s in p["shifts"]] for p in probed]
        grouped.append(
            {
                "group_id": group.group_id,
                "arch": group.arch,
                "dataset": group.dataset,
                "n": len(finished),
                "run_ids": [r.run_id for r in finished],
                "shifts": [s.to_json() for s in group_shifts(triples)],
                "members": triples,
            }
        )
    if as_json:
        shown = [{k: v for k, v in g.items() if k != "members"} for g in grouped]
        click.echo(json.dumps({"runs": results, **({"groups": shown} if grouped else {})}))
        return
    from .tables import console, shift_groups_table, shift_view

    out = console()
    if results:
        out.print(shift_view(results))
    if grouped:
        out.print(shift_groups_table(grouped))


def _shift_run(store: RunStore, record: RunRecord, datasets: dict[str, Any], data_dir: str | None, max_k: int) -> dict:
    """One stored run probed at every shift, as `probe shift --json` lists it (datasets loaded once)."""
    from ..lessons.shift import shift_accuracy
    from ..store.compare import load_model
    from ..store.runs import StoreError

    try:
        model = load_model(store, record)
    except StoreError as exc:
        raise BadInput(str(exc)) from exc
    if record.dataset not in datasets:
        datasets[record.dataset] = _load_data(record.dataset, data_dir, "cpu")
    found = shift_accuracy(model, datasets[record.dataset], max_k)
    shifts = [{"dx": dx, "dy": dy, "val_acc": acc} for dx, dy, acc in found]
    return {"run_id": record.run_id, "arch": record.arch, "dataset": record.dataset, "shifts": shifts}


@probe.command("permute")
@click.argument("archs", nargs=-1, required=True)
@seed_options
@train_options
@click.option("--json", "as_json", is_flag=True)
def probe_permute(archs: tuple[str, ...], as_json: bool, **opts: Any) -> None:
    """Train each ARCH on plain and on shuffled pixels (--permute-pixels, default 1) and compare.

    Each ARCH's seeds (--seeds N from --seed up, default 3, or --seed-list) train as one
    group on each dataset, all under one sweep id.

    Exit status: 0 finished, 1 a run diverged or failed, 2 bad input, 130 interrupted.
    """
    from ..experiments.probes import DEFAULT_PERMUTATION, Trained, permute_probe
    from ..store.runs import new_sweep_id

    seeds = _seeds(opts, default=3)
    for arch in archs:
        _spec(arch)  # every spec and option checked before the first run
    _config(opts)
    permutation = opts["permute_pixels"] if opts["permute_pixels"] is not None else DEFAULT_PERMUTATION
    _dataset({**opts, "permute_pixels": permutation})
    sweep_id = new_sweep_id()

    def train_seeds(arch: str, dataset: str, group_seeds: Sequence[int]) -> Trained:
        run_opts = {**opts, "dataset": dataset, "permute_pixels": None}
        result = _train_sweep([arch], run_opts, group_seeds, sweep_id=sweep_id)
        if result.status != "finished":
            sys.exit(_exit_code(result.status))
        (group,) = result.groups
        return Trained(group.arch, group.params, tuple(r["val_acc"] for r in result.runs))

    results = permute_probe(archs, train_seeds, seeds, opts["dataset"], permutation)
    if as_json:
        click.echo(json.dumps({"results": [r.to_json() for r in results]}))
        return
    from .tables import console, permute_table

    console().print(permute_table(results, opts["dataset"], permutation))


@main.command()
@click.argument("run_id")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
@click.option("--json", "as_json", is_flag=True)
def transplant(run_id: str, runs_dir: str | None, data_dir: str | None, as_json: bool) -> None:
    """A trained CNN as the MLP it is: its convs unrolled into Linear layers, checked on the validation set."""
    from ..lessons.transplant import TransplantError, mlp_spec, report
    from ..store.compare import load_model, run_spec
    from ..store.runs import StoreError

    store = _store(runs_dir)
    record = store.get(run_id)
    if record is None:
        raise BadInput(f"no run {run_id!r} in {store.root}")
    spec = run_spec(record)
    if isinstance(spec, ParseError):
        raise BadInput(f"run {record.run_id} has an architecture this version cannot read: {spec}")
    try:
        mlp_spec(spec)  # refuse pooling or batch norm before loading weights and data
        model = load_model(store, record)
    except (TransplantError, StoreError) as exc:
        raise BadInput(f"run {record.run_id}: {exc}") from exc
    result = report(record.run_id, spec, model, _load_data(record.dataset, data_dir, "cpu"))
    if as_json:
        click.echo(json.dumps(result.to_json()))
        return
    from .tables import console, transplant_view

    console().print(transplant_view(result, record.arch))
