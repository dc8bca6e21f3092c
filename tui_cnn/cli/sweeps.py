"""`cnn-tui sweep` and `cnn-tui ladder`: many members at once, reported with their spread.

Registered on the `cnn-tui` group by importing this module (see cli/__init__.py); the
training itself is `experiments.sweep.Sweep` and `experiments.ladder.run_ladder`.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .commands import (
    _exit_code,
    _numbers,
    _run_sweep,
    _seeds,
    _spec,
    _store,
    _sweep_data,
    _train_sweep,
    main,
    seed_options,
    train_options,
)


@main.command()
@click.argument("archs", nargs=-1, required=True, metavar="ARCH [ARCH ...]")
@seed_options
@click.option("--lr-list", metavar="1e-3,3e-3", help="these learning rates instead of --lr (a group each)")
@train_options
@click.option("--json", "as_json", is_flag=True, help="last stdout line: the sweep as JSON")
def sweep(archs: tuple[str, ...], lr_list: str | None, as_json: bool, **opts: Any) -> None:
    """Train every ARCH under every seed and learning rate, each ARCH's members in one step.

    Seeds: --seeds N (from --seed up; default 3) or --seed-list 0,3,7. One group per ARCH and
    lr, reported as mean ± sd over its seeds; every member lands in the runs store under the
    sweep's id (`cnn-tui runs show SWEEP_ID`).

    Exit status: 0 every member finished, 1 any diverged or failed, 2 bad input, 130 interrupted.
    """
    for arch in archs:
        _spec(arch)
    seeds = _seeds(opts, default=3)
    lrs = _numbers(lr_list, float, "--lr-list") if lr_list is not None else None
    result = _train_sweep(archs, opts, seeds, lrs)
    if as_json:
        click.echo(json.dumps(result.to_json()))
    else:
        from .tables import console, sweep_table

        console().print(sweep_table(result))
    sys.exit(_exit_code(result.status))


@main.command()
@seed_options
@train_options
@click.option("--json", "as_json", is_flag=True, help='last stdout line: {"rungs": [...], "verdict": ...}')
def ladder(as_json: bool, **opts: Any) -> None:
    """Train the ladder's rungs (mlp, dense_cnn, local_cnn, simple_cnn) as seed groups on the same data.

    One table: each rung's parameters, what it keeps (locality, sharing), val acc mean ± sd
    over the seeds (--seeds N, default 3), the parameters saved by locality and then by
    sharing, and the result in words.

    Exit status: 0 every member finished, 1 any diverged or failed, 2 bad input, 130 interrupted.
    """
    from ..experiments.ladder import RUNGS, factors, verdict
    from ..experiments.ladder_run import ladder_results, ladder_sweep

    seeds = _seeds(opts, default=3)
    _, data, base, devices = _sweep_data([rung.arch for rung in RUNGS], opts)
    store = _store(opts["runs_dir"])
    result = _run_sweep(lambda progress: ladder_sweep(data, base, seeds, store, on_event=progress, devices=devices))
    rungs = ladder_results(result.groups)
    found = factors({r.arch: r.params for r in rungs})
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rungs": [r.to_json() for r in rungs],
                    "factors": {"locality": found.locality, "sharing": found.sharing},
                    "verdict": verdict(rungs),
                    "sweep_id": result.sweep_id,
                }
            )
        )
    else:
        from .tables import console, ladder_table

        console().print(ladder_table(rungs, found, verdict(rungs), result.sweep_id))
    sys.exit(_exit_code(result.status))
