"""The log file beside the runs store: where a failed run's traceback goes, instead of the screen.

The core only logs (`logging.getLogger(__name__)`); the shells, the app and `cnn-tui
train`, open a `LogFile` for as long as they run. The file is created on the first
record, so a session without failures leaves nothing behind, and a log that cannot
be written is skipped: the failure is on the screen already, with its message.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

LOG_NAME = "cnn-tui.log"
PACKAGE = "tui_cnn"  # the logger every module's logger hangs under
FORMAT = "%(asctime)s %(levelname)s %(name)s pid %(process)d: %(message)s"


def log_path(root: Path | str) -> Path:
    return Path(root).expanduser() / LOG_NAME


def details(root: Path | str) -> str:
    """' (details in PATH)' once the log exists, for the end of a failure message; else ''."""
    path = log_path(root)
    return f" (details in {path})" if path.is_file() else ""


class _LazyFileHandler(logging.FileHandler):
    """Opens the file on the first record, creating the runs directory if need be.

    A log that cannot be written (an unwritable or missing directory, a full disk) is
    skipped without a word: FileHandler would raise from its first open, and print
    "--- Logging error ---" over the app on later failures.
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.stream is None:
                Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
            super().emit(record)
        except OSError:
            pass

    def handleError(self, record: logging.LogRecord) -> None:
        pass


_LOCK = threading.Lock()
_SHARED: dict[str, tuple[logging.Handler, int]] = {}  # a log file -> its one handler, and how many LogFiles hold it


class LogFile:
    """The package's records (INFO and up) appended to `<root>/cnn-tui.log` while open.

    Every open `LogFile` for one file shares one handler, removed when the last of them closes
    (the app keeps its log open while each run opens its own; a sweep's groups on several
    devices open and close theirs at different times), so no record is written twice and none
    is lost while a group still runs. Safe to open and close from any thread.
    """

    def __init__(self, root: Path | str) -> None:
        self.path = log_path(root)
        self._target = os.path.abspath(self.path)
        self._holding = False

    def open(self) -> LogFile:
        with _LOCK:
            if self._holding:
                return self
            handler, holders = _SHARED.get(self._target, (None, 0))
            if handler is None:
                handler = _LazyFileHandler(self.path, delay=True, encoding="utf-8")
                handler.setFormatter(logging.Formatter(FORMAT))
                logger = logging.getLogger(PACKAGE)
                logger.addHandler(handler)
                if logger.getEffectiveLevel() > logging.INFO:
                    logger.setLevel(logging.INFO)
            _SHARED[self._target] = (handler, holders + 1)
            self._holding = True
        return self

    def close(self) -> None:
        with _LOCK:
            if not self._holding:
                return
            self._holding = False
            handler, holders = _SHARED.pop(self._target)
            if holders > 1:
                _SHARED[self._target] = (handler, holders - 1)
                return
            logging.getLogger(PACKAGE).removeHandler(handler)
            handler.close()

    def __enter__(self) -> LogFile:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
