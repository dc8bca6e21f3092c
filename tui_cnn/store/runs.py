"""The runs store: every run's settings, curve and final weights, on disk.

One SQLite file (WAL, so the CLI can list runs while the app writes one) plus a
`weights/` folder of state dicts beside it. Weight files are written to a temporary
name and renamed, and read back with `weights_only=True`, so a file from elsewhere
cannot run code. A run whose process died (kill -9, power cut) is marked interrupted
the next time the store is opened.
"""

from __future__ import annotations

import io
import json
import math
import os
import secrets
import socket
import sqlite3
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..architecture.specfile import write_atomic
from ..training.events import Checkpoint, Ended, EpochEnd, Event, Started

SCHEMA_VERSION = 2  # 2: runs.group_id and runs.sweep_id (a store of 1 gains them when opened)
DB_NAME = "runs.sqlite3"
BUSY_TIMEOUT_MS = 5000
# Seconds between checkpoint writes. One costs ~14 ms here (encode, write, fsync: 0.5 MB for
# the mlp), a fifth of a 0.07 s mlp epoch at batch 512; so a fast run writes at most one a
# second, and its latest when it ends. kill -9 loses at most this much training.
CHECKPOINT_EVERY = 1.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    arch TEXT NOT NULL,
    line TEXT NOT NULL,
    params INTEGER NOT NULL,
    dataset TEXT NOT NULL,
    config TEXT NOT NULL,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    best_val_acc REAL,
    final_val_acc REAL,
    train_loss REAL,
    seconds REAL NOT NULL DEFAULT 0,
    samples_per_s REAL NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    group_id TEXT,
    sweep_id TEXT
);
CREATE INDEX IF NOT EXISTS runs_group ON runs(group_id);
CREATE INDEX IF NOT EXISTS runs_sweep ON runs(sweep_id);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL NOT NULL,
    train_acc REAL NOT NULL,
    val_loss REAL NOT NULL,
    val_acc REAL NOT NULL,
    seconds REAL NOT NULL,
    PRIMARY KEY (run_id, epoch)
);
"""

_RECORD_COLUMNS = (
    "run_id, arch, line, params, dataset, config, device, status, epochs_done, best_val_acc, final_val_acc,"
    " train_loss, seconds, samples_per_s, created, message, group_id, sweep_id"
)
# Columns added since schema 1, for opening older stores: (name, SQL type).
_ADDED_COLUMNS = (("group_id", "TEXT"), ("sweep_id", "TEXT"))


class StoreError(Exception):
    """The store or a weights file cannot be used; the message names the path."""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    arch: str
    line: str
    params: int
    dataset: str
    config: dict[str, Any]
    device: str
    status: str
    epochs_done: int
    best_val_acc: float | None
    final_val_acc: float | None
    train_loss: float | None
    seconds: float
    samples_per_s: float
    created: str  # ISO 8601, local time with offset
    message: str
    group_id: str | None = None  # the members of one architecture at one lr trained together, over seeds
    sweep_id: str | None = None  # one sweep (or ladder, or probe): several groups

    @property
    def seed(self) -> int | None:
        return self.config.get("seed")

    @property
    def lr(self) -> float | None:
        return self.config.get("lr")

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "arch": self.arch,
            "line": self.line,
            "params": self.params,
            "dataset": self.dataset,
            "status": self.status,
            "epochs_done": self.epochs_done,
            "val_acc": self.final_val_acc,
            "best_val_acc": self.best_val_acc,
            "train_loss": self.train_loss,
            "seconds": self.seconds,
            "samples_per_s": self.samples_per_s,
            "device": self.device,
            "created": self.created,
            "message": self.message,
            "group_id": self.group_id,
            "sweep_id": self.sweep_id,
            "config": self.config,
        }

    def csv_row(self) -> dict[str, Any]:
        """The run as one flat row: `to_json` without the nested config, its main settings as columns."""
        row = {k: v for k, v in self.to_json().items() if k != "config"}
        return {**row, **{k: self.config.get(k) for k in CSV_SETTINGS}}


CSV_SETTINGS = ("epochs", "batch_size", "lr", "optimizer", "weight_decay", "seed")  # from the run's config
RUN_CSV_COLUMNS = (
    "run_id", "arch", "line", "params", "dataset", "status", "epochs_done", "val_acc", "best_val_acc", "train_loss",
    "seconds", "samples_per_s", "device", "created", "message", "group_id", "sweep_id", *CSV_SETTINGS,
)  # fmt: skip
METRICS_CSV_COLUMNS = ("run_id", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float


def _new_run_id(prefix: str = "") -> str:
    """Sortable by start time, unique enough: 20261124-183012-a1b2 (groups g-..., sweeps s-...)."""
    return f"{prefix}{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"


def new_group_id() -> str:
    """A new group's id: g-20261124-183012-a1b2, apart from every run id by its prefix."""
    return _new_run_id("g-")


def new_sweep_id() -> str:
    """A new sweep's id: s-20261124-183012-a1b2."""
    return _new_run_id("s-")


def _starting(prefix: str) -> str:
    """A LIKE pattern (escaped with a backslash) for the ids that start with `prefix`."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def runs_root(runs_dir: str | Path | None = None) -> Path:
    """Where the store lives: `runs_dir`, else $CNN_TUI_HOME, else the platform's user data dir."""
    if runs_dir:
        return Path(runs_dir).expanduser()
    env = os.environ.get("CNN_TUI_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cnn-tui"))


class RunStore:
    """Runs in `root`/runs.sqlite3 and weights in `root`/weights; safe to share between threads."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser()
        self.db_path = self.root / DB_NAME
        self.weights_dir = self.root / "weights"
        self._lock = threading.RLock()  # re-entrant: a new run's id is checked and inserted under one hold
        try:
            self.weights_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot use the runs directory {self.root}: {getattr(exc, 'strerror', None) or exc}"
            ) from exc
        try:
            self._setup()
        except sqlite3.Error as exc:
            self._db.close()
            raise StoreError(f"cannot use the runs store {self.db_path}: {exc}") from exc

    @classmethod
    def open(cls, runs_dir: str | Path | None = None) -> RunStore:
        """The store at `runs_dir`, else $CNN_TUI_HOME, else the platform's user data dir."""
        return cls(runs_root(runs_dir))

    def _setup(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"written by a newer cnn-tui (schema {version}, this one knows {SCHEMA_VERSION})"
            )
        with db:
            self._migrate()
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._mark_stale()

    def _migrate(self) -> None:
        """An older store's runs table gains the columns added since (NULL for its runs)."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(runs)")}
        if not have:
            return  # a new store: the schema creates it whole
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                self._db.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")

    def _mark_stale(self) -> None:
        """Runs left "running" by a process of this host that is gone become "interrupted".

        A weights file that process was writing when it died (a temporary name, never renamed
        into place) is removed: nobody will finish it.
        """
        host = socket.gethostname()
        stale = [
            run_id
            for run_id, pid in self._db.execute(
                "SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", (host,)
            )
            if pid != os.getpid() and not _alive(pid)
        ]
        with self._db:
            self._db.executemany(
                "UPDATE runs SET status = 'interrupted', message = 'the process ended before the run finished'"
                " WHERE run_id = ?",
                [(run_id,) for run_id in stale],
            )
        for run_id in stale:
            for path in (self.weights_path(run_id), self.checkpoint_path(run_id)):
                for partial in self.weights_dir.glob(f".{path.name}.*.tmp"):
                    partial.unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, args: tuple = ()) -> list[tuple]:
        """One statement in its own transaction (committed at once: a crash keeps what was written)."""
        with self._lock:
            try:
                with self._db:
                    return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"runs store {self.db_path}: {exc}") from exc

    # -- reading --------------------------------------------------------------------------

    def runs(self) -> list[RunRecord]:
        """Every run, newest first."""
        found = self._execute(f"SELECT {_RECORD_COLUMNS} FROM runs ORDER BY created DESC, rowid DESC")
        return [self._record(row) for row in found]

    def _record(self, row: tuple) -> RunRecord:
        values = list(row)
        try:
            values[5] = json.loads(values[5])
        except (TypeError, ValueError):
            values[5] = {}
        return RunRecord(*values)

    def get(self, run_id: str) -> RunRecord | None:
        """The run with this id, or the one run whose id starts with it (None if none or several)."""
        found = self._execute(f"SELECT {_RECORD_COLUMNS} FROM runs WHERE run_id = ?", (run_id,))
        if not found and run_id:
            found = self._execute(
                f"SELECT {_RECORD_COLUMNS} FROM runs WHERE run_id LIKE ? ESCAPE '\\' LIMIT 2", (_starting(run_id),)
            )
        return self._record(found[0]) if len(found) == 1 else None

    def metrics(self, run_id: str) -> list[EpochMetrics]:
        record = self.get(run_id)
        if record is None:
            return []
        found = self._execute(
            "SELECT epoch, train_loss, train_acc, val_loss, val_acc, seconds FROM metrics"
            " WHERE run_id = ? ORDER BY epoch",
            (record.run_id,),
        )
        return [EpochMetrics(*row) for row in found]

    def weights_path(self, run_id: str) -> Path:
        return self.weights_dir / f"{run_id}.pt"

    def checkpoint_path(self, run_id: str) -> Path:
        return self.weights_dir / f"{run_id}.ckpt"

    def load_checkpoint(self, run_id: str) -> Checkpoint:
        """The state after the run's last completed epoch; StoreError if it has none or it is unusable."""
        from ..training.checkpoint import decode

        record = self.get(run_id)
        path = self.checkpoint_path(record.run_id if record else run_id)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(
                f"run {run_id!r} has no checkpoint to continue from ({path}): it ended before its first epoch,"
                " or was recorded by an older cnn-tui"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            return decode(data)
        except ValueError as exc:
            raise StoreError(f"checkpoint {path}: {exc}") from exc

    def load_weights(self, run_id: str) -> dict[str, Any]:
        """The run's final state dict on the CPU; StoreError if missing or not a state dict."""
        import torch

        record = self.get(run_id)
        path = self.weights_path(record.run_id if record else run_id)
        if not path.is_file():
            raise StoreError(f"no saved weights for run {run_id!r} (expected {path})")
        try:
            with warnings.catch_warnings():  # torch warns about foreign pickles; the error below says it all
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - truncated zips, foreign pickles and I/O errors all mean unusable
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreError(f"weights file {path} is corrupt or not a cnn-tui state dict: {reason[:200]}") from exc
        if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
        ):
            raise StoreError(f"weights file {path} is not a state dict (names -> tensors)")
        return state

    # -- writing --------------------------------------------------------------------------

    def recorder(
        self,
        resume: RunRecord | None = None,
        after_epoch: int = 0,
        *,
        group_id: str | None = None,
        sweep_id: str | None = None,
    ) -> Recorder:
        """A callback recording one run's events into this store (continuing `resume` after `after_epoch`).

        `group_id` and `sweep_id` file a new run under its group and sweep (see store.groups).
        """
        return Recorder(self, resume, after_epoch, group_id=group_id, sweep_id=sweep_id)

    def members(self, group_or_sweep_id: str) -> list[RunRecord]:
        """The runs of a group or a sweep, oldest first: by the whole id, else by the one id it starts."""
        for column in ("group_id", "sweep_id"):
            found = self._execute(
                f"SELECT {_RECORD_COLUMNS} FROM runs WHERE {column} = ? ORDER BY created, rowid", (group_or_sweep_id,)
            )
            if found:
                return [self._record(row) for row in found]
        if not group_or_sweep_id:
            return []
        for column in ("group_id", "sweep_id"):
            ids = self._execute(
                f"SELECT DISTINCT {column} FROM runs WHERE {column} LIKE ? ESCAPE '\\' LIMIT 2",
                (_starting(group_or_sweep_id),),
            )
            if len(ids) == 1:
                return self.members(ids[0][0])
        return []

    def delete(self, run_id: str) -> None:
        """Forget a run: its row, its curve, its weights and its checkpoint."""
        record = self.get(run_id)
        if record is None:
            raise StoreError(f"no run {run_id!r} in {self.root}")
        self._execute("DELETE FROM runs WHERE run_id = ?", (record.run_id,))
        self.weights_path(record.run_id).unlink(missing_ok=True)
        self.checkpoint_path(record.run_id).unlink(missing_ok=True)

    def _insert_run(self, run_id: str, event: Started, group_id: str | None, sweep_id: str | None) -> str:
        """File a new run under `run_id`, or a fresh id if that one is taken; returns the id it got.

        The check and the insert hold the lock together: two threads starting runs at once
        (a sweep's groups on several devices) never both take a free-looking id.
        """
        created = datetime.now().astimezone().isoformat(timespec="seconds")
        with self._lock:
            while self._exists(run_id):
                run_id = _new_run_id()
            self._execute(
                "INSERT INTO runs (run_id, arch, line, params, dataset, config, device, status, created, host, pid,"
                " group_id, sweep_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (
                    run_id,
                    event.arch,
                    event.line,
                    event.params,
                    event.dataset,
                    json.dumps(event.config, default=str),
                    event.device_name,
                    created,
                    socket.gethostname(),
                    os.getpid(),
                    group_id,
                    sweep_id,
                ),
            )
        return run_id

    def _continue_run(self, record: RunRecord, event: Started, after_epoch: int) -> None:
        """A resumed run is running again: its new config with a note, its curve cut back to the checkpoint.

        Epochs after the checkpoint (committed by a process killed before it wrote the next
        checkpoint) are dropped: they will be trained again.
        """
        from ..training.checkpoint import changes

        now = datetime.now().astimezone().isoformat(timespec="seconds")
        note = {"at": now, "after_epoch": after_epoch, "changed": changes(record.config, event.config)}
        config = {**event.config, "resumed": [*record.config.get("resumed", []), note]}
        run_id = record.run_id
        with self._lock:
            try:
                with self._db:
                    self._db.execute("DELETE FROM metrics WHERE run_id = ? AND epoch > ?", (run_id, after_epoch))
                    self._db.execute(
                        "UPDATE runs SET status = 'running', message = '', config = ?, device = ?, host = ?, pid = ?,"
                        " epochs_done = ?,"
                        " best_val_acc = (SELECT max(val_acc) FROM metrics WHERE run_id = ?),"
                        " final_val_acc = (SELECT val_acc FROM metrics WHERE run_id = ? AND epoch = ?),"
                        " train_loss = (SELECT train_loss FROM metrics WHERE run_id = ? AND epoch = ?)"
                        " WHERE run_id = ?",
                        (
                            json.dumps(config, default=str),
                            event.device_name,
                            socket.gethostname(),
                            os.getpid(),
                            after_epoch,
                            run_id,
                            run_id,
                            after_epoch,
                            run_id,
                            after_epoch,
                            run_id,
                        ),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"runs store {self.db_path}: {exc}") from exc

    def _exists(self, run_id: str) -> bool:
        return bool(self._execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))

    def _write_weights(self, run_id: str, state_dict: dict[str, Any]) -> None:
        import torch

        buffer = io.BytesIO()
        torch.save(state_dict, buffer)
        write_atomic(self.weights_path(run_id), buffer.getvalue())

    def _write_checkpoint(self, run_id: str, checkpoint: Checkpoint) -> None:
        from ..training.checkpoint import encode

        write_atomic(self.checkpoint_path(run_id), encode(checkpoint))


class Recorder:
    """Feed it every event of one run: the row appears on Started and is completed on Ended.

    Each epoch is committed as it ends, with the run's time so far (the sum of its epochs'),
    and its checkpoint written after it (at most every CHECKPOINT_EVERY seconds, the latest
    one always when the run ends), so a killed run keeps its curve and its time and can be
    continued. Events before a Started (a run that failed to start) leave nothing in the
    store. With `resume`, the events continue that run (same id) after epoch `after_epoch`,
    and its seconds add up.
    """

    def __init__(
        self,
        store: RunStore,
        resume: RunRecord | None = None,
        after_epoch: int = 0,
        *,
        group_id: str | None = None,
        sweep_id: str | None = None,
    ) -> None:
        self.store = store
        self.run_id = resume.run_id if resume else _new_run_id()
        self.group_id, self.sweep_id = group_id, sweep_id
        self._resume = resume
        self._after_epoch = after_epoch
        self._started = False
        self._seconds = resume.seconds if resume else 0.0  # the epochs' seconds so far
        self._checkpoint_failed = False
        self._pending: Checkpoint | None = None  # the newest checkpoint, until it is written
        self._written_at = -math.inf

    def __call__(self, event: Event) -> None:
        if isinstance(event, Started):
            if self._resume is not None:
                self.store._continue_run(self._resume, event, self._after_epoch)
            else:
                self.run_id = self.store._insert_run(self.run_id, event, self.group_id, self.sweep_id)
            self._started = True
        elif not self._started:
            return
        elif isinstance(event, EpochEnd):
            self._epoch(event)
        elif isinstance(event, Checkpoint):
            self._pending = event
            if time.monotonic() - self._written_at >= CHECKPOINT_EVERY:
                self._write_pending()
        elif isinstance(event, Ended):
            self._ended(event)

    def _epoch(self, e: EpochEnd) -> None:
        store = self.store
        self._seconds += e.seconds
        store._execute(
            "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.seconds),
        )
        store._execute(
            "UPDATE runs SET epochs_done = ?, final_val_acc = ?, best_val_acc = max(coalesce(best_val_acc, 0), ?),"
            " train_loss = ?, seconds = ? WHERE run_id = ?",
            (e.epoch, e.val_acc, e.val_acc, e.train_loss, self._seconds, self.run_id),
        )

    def _write_pending(self) -> None:
        if self._pending is None:
            return
        try:
            self.store._write_checkpoint(self.run_id, self._pending)
        except OSError:  # a full disk costs the ability to continue, not the run; Ended says so
            self._checkpoint_failed = True
        self._pending, self._written_at = None, time.monotonic()

    def _ended(self, e: Ended) -> None:
        self._write_pending()
        message = e.message
        if self._checkpoint_failed:
            message += "; a checkpoint could not be saved, so the run may not continue from its last epoch"
        if self._resume is not None:
            message += f" (continued after epoch {self._after_epoch})"
        if e.state_dict is not None:
            try:
                self.store._write_weights(self.run_id, e.state_dict)
            except OSError as exc:
                message = f"{message}; weights not saved: {exc.strerror or exc}"
        self.store._execute(
            "UPDATE runs SET status = ?, message = ?, epochs_done = ?, best_val_acc = coalesce(?, best_val_acc),"
            " final_val_acc = coalesce(?, final_val_acc), train_loss = coalesce(?, train_loss), seconds = ?,"
            " samples_per_s = ? WHERE run_id = ?",
            (
                e.status,
                message,
                e.epochs_done,
                e.best_val_acc,
                e.final_val_acc,
                e.train_loss,
                e.seconds + (self._resume.seconds if self._resume else 0.0),
                e.samples_per_s,
                self.run_id,
            ),
        )
