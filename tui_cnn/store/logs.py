"""The log file beside the runs store: where a failed run's traceback goes, instead of the screen.

The core only logs (`logging.getLogger(__name__)`); the shells, the app and `cnn-tui
train`, open a `LogFile` for as long as they run. The file is created on the first
record, so a session without failures leaves nothing behind, and a log that cannot
be written is skipped: the failure is on the screen already, with its message.
"""

from __future__ import annotations

import logging
import os
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


class LogFile:
    """The package's records (INFO and up) appended to `<root>/cnn-tui.log` while open.

    Opening one for a file that another open `LogFile` already writes does nothing (the app
    keeps its log open while each run opens its own), so no record is written twice.
    """

    def __init__(self, root: Path | str) -> None:
        self.path = log_path(root)
        self._handler: logging.Handler | None = None

    def open(self) -> LogFile:
        logger = logging.getLogger(PACKAGE)
        target = os.path.abspath(self.path)
        if self._handler is None and not any(
            isinstance(h, _LazyFileHandler) and h.baseFilename == target for h in logger.handlers
        ):
            handler = _LazyFileHandler(self.path, delay=True, encoding="utf-8")
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
            self._handler = handler
        return self

    def close(self) -> None:
        if self._handler is not None:
            logging.getLogger(PACKAGE).removeHandler(self._handler)
            self._handler.close()
            self._handler = None

    def __enter__(self) -> LogFile:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
