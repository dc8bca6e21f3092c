"""What a worker does with an error nobody foresaw: one line in place, the traceback in cnn-tui.log.

A thread worker started with `exit_on_error=False` that raises leaves its screen as it was
("loading…") and logs nothing: every worker catches what it expects (no run, no data) with
its own words, and hands anything else to `unexpected`.
"""

from __future__ import annotations

import logging

from textual.app import App

log = logging.getLogger(__name__)


def unexpected(app: App, exc: BaseException, doing: str) -> str:
    """Log `exc` with its traceback; the one line to show: what failed, the error, where the details are."""
    log.error("%s failed", doing, exc_info=exc)
    first = str(exc).strip().splitlines()
    line = f"{doing} failed: {type(exc).__name__}" + (f": {first[0]}" if first else "")
    log_file = getattr(app, "log_file", None)
    if log_file is not None and log_file.path.is_file():
        line += f" (details in {log_file.path})"
    return line
