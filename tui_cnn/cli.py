"""`cnn-tui`: the app with no subcommand, and the same core headless for scripts.

This module only parses options and hands over to the core (and to `tables` for
output). torch is imported inside the commands that train, so `--help` and the
budget commands start instantly.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .presets import PRESETS, resolve
from .spec import ParseError, Spec, parse_shape

if TYPE_CHECKING:
    from .config import TrainConfig
    from .events import Ended
    from .runs import RunStore

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
        click.option("--epochs", type=int, default=10, show_default=True),
        click.option("--batch-size", type=int, default=64, show_default=True),
        click.option("--lr", type=float, default=3e-3, show_default=True, help="learning rate"),
        click.option("--optimizer", type=click.Choice(["adam", "adamw", "sgd"]), default="adam", show_default=True),
        click.option("--weight-decay", type=float, default=0.0, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--device", default="auto", show_default=True, help="auto (cuda, mps, cpu), cuda, mps, cpu"),
        click.option("--amp", is_flag=True, help="bf16 autocast (CUDA; ignored with a notice on the CPU)"),
        click.option("--compile", "compile_", is_flag=True, help="torch.compile the model (CUDA)"),
        click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store"),
        click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _config(opts: dict[str, Any]) -> TrainConfig:
    from .config import TrainConfig

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
    )
    problem = config.validate()
    if problem:
        raise BadInput(problem)
    return config


def _store(runs_dir: str | None) -> RunStore:
    from .runs import RunStore, StoreError

    try:
        return RunStore.open(runs_dir)
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


def _load_data(name: str, data_dir: str | None, device: str) -> Any:
    from .data import DataError, load
    from .devices import DeviceError, pick

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
    from .app import run_app

    status = run_app(
        arch=arch, dataset=opts["dataset"], config=_config(opts), runs_dir=opts["runs_dir"], data_dir=opts["data_dir"]
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
    from .budget import rows

    spec = _spec(arch, input_shape)
    budget = rows(spec)
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
    from .build import to_code
    from .spec import SpecError

    try:
        click.echo(to_code(_spec(arch, input_shape)), nl=False)
    except SpecError as exc:
        raise BadInput(str(exc)) from exc


@main.command()
@click.option("--json", "as_json", is_flag=True)
def presets(as_json: bool) -> None:
    """List the preset architectures."""
    from .budget import rows
    from .presets import preset

    if as_json:
        data = [
            {"name": n, "line": line, "description": d, "params": rows(preset(n)).total_params}
            for n, (line, d) in PRESETS.items()
        ]
        click.echo(json.dumps({"presets": data}))
        return
    from .tables import console, presets_table

    console().print(presets_table())


def _train_one(arch: str, opts: dict[str, Any], as_json: bool, quiet: bool = False) -> tuple[str, Ended, dict]:
    """Train one architecture with progress on stderr; the run lands in the store."""
    from .torch_import import import_torch

    import_torch()
    from .budget import check_trainable, rows
    from .logs import LogFile, details
    from .tables import TrainProgress
    from .train import Trainer

    spec = _spec(arch)
    config = _config(opts)
    data = _load_data(opts["dataset"], opts["data_dir"], config.device)
    problem = check_trainable(rows(spec, data.input_shape), data.num_classes)
    if problem:
        raise BadInput(problem)
    store = _store(opts["runs_dir"])
    recorder = store.recorder()
    name = _arch_name(arch, spec)
    with LogFile(store.root), TrainProgress(name, quiet=quiet) as progress:

        def on_event(event: Any) -> None:
            recorder(event)
            progress(event)

        trainer = Trainer(spec, data, config, on_event, arch=name)
        with StopOnSignals(trainer.stop):
            ended = trainer.run()
        if ended.status == "failed":
            logging.getLogger(__name__).error("run %s failed: %s", recorder.run_id, ended.message)
    result = {
        "run_id": recorder.run_id,
        "arch": name,
        "params": rows(spec, data.input_shape).total_params,
        "dataset": opts["dataset"],
        "epochs": ended.epochs_done,
        "train_loss": ended.train_loss,
        "val_acc": ended.final_val_acc,
        "best_val_acc": ended.best_val_acc,
        "seconds": round(ended.seconds, 3),
        "samples_per_s": round(ended.samples_per_s, 1),
        "device": progress.device or config.device,
        "status": ended.status,
    }
    if ended.status != "finished":
        where = details(store.root) if ended.status == "failed" else ""
        click.echo(f"{ended.status}: {ended.message}{where}", err=True)
    return recorder.run_id, ended, result


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


@main.command()
@click.argument("arch")
@train_options
@click.option("--json", "as_json", is_flag=True, help="last stdout line: the run as JSON")
def train(arch: str, as_json: bool, **opts: Any) -> None:
    """Train ARCH headless; the run lands in the runs store.

    Exit status: 0 finished, 1 diverged or failed, 2 bad input, 130 interrupted.
    """
    _, ended, result = _train_one(arch, opts, as_json)
    if as_json:
        click.echo(json.dumps(result))
    else:
        from .tables import console, ended_line

        console().print(ended_line(result, ended))
    sys.exit(_exit_code(ended.status))


@main.command()
@click.argument("archs", nargs=-1, required=True)
@train_options
@click.option("--json", "as_json", is_flag=True)
def compare(archs: tuple[str, ...], as_json: bool, **opts: Any) -> None:
    """Train each ARCH in turn with the same settings and compare them."""
    for arch in archs:
        _spec(arch)  # every spec checked before the first one trains
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


@main.group(invoke_without_command=True)
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, runs_dir: str | None, as_json: bool) -> None:
    """List the runs in the store (newest first)."""
    ctx.obj = runs_dir
    if ctx.invoked_subcommand is not None:
        return
    records = _store(runs_dir).runs()
    if as_json:
        click.echo(json.dumps({"runs": [r.to_json() for r in records]}))
        return
    from .tables import console, runs_table

    console().print(runs_table(records))


@runs.command("show")
@click.argument("run_id")
@click.option("--runs-dir", type=click.Path(file_okay=False), help="runs store")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def runs_show(ctx: click.Context, run_id: str, runs_dir: str | None, as_json: bool) -> None:
    """Show one run with its per-epoch curve."""
    store = _store(runs_dir or ctx.obj)
    record = store.get(run_id)
    if record is None:
        raise BadInput(f"no run {run_id!r} in {store.root}")
    metrics = store.metrics(record.run_id)
    if as_json:
        click.echo(json.dumps({**record.to_json(), "metrics": [m.__dict__ for m in metrics]}))
        return
    from .tables import console, run_panel

    console().print(run_panel(record, metrics))


@main.group()
def data() -> None:
    """Datasets: list what is present, fetch what is not."""


@data.command("list")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
@click.option("--json", "as_json", is_flag=True)
def data_list(data_dir: str | None, as_json: bool) -> None:
    """Show the datasets and whether each is present."""
    from .data import available

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
    from .data import DataError, fetch
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
    from .lessons import layer_matrix

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
    from .lessons import receptive_fields

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


@main.command()
@click.argument("run_id")
@click.option("--runs-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_HOME", help="runs store")
@click.option("--data-dir", type=click.Path(file_okay=False), envvar="CNN_TUI_DATA", help="dataset cache")
@click.option("--json", "as_json", is_flag=True)
def transplant(run_id: str, runs_dir: str | None, data_dir: str | None, as_json: bool) -> None:
    """A trained CNN as the MLP it is: its convs unrolled into Linear layers, checked on the validation set."""
    from .compare import load_model, run_spec
    from .runs import StoreError
    from .transplant import TransplantError, mlp_spec, report

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
