"""The log file beside the runs store: one handler however many hold it open, kept until the last one closes."""

from __future__ import annotations

import logging
from pathlib import Path

from tui_cnn.store.logs import PACKAGE, LogFile, log_path


def handlers(root: Path) -> list[logging.Handler]:
    target = str(log_path(root).absolute())
    return [h for h in logging.getLogger(PACKAGE).handlers if getattr(h, "baseFilename", None) == target]


def test_a_log_held_by_two_stays_open_until_both_close(tmp_path: Path) -> None:
    """Two groups on two devices: the first to end must not take the log from the one still training."""
    first, second = LogFile(tmp_path), LogFile(tmp_path)
    first.open()
    second.open()
    assert len(handlers(tmp_path)) == 1
    first.close()
    assert len(handlers(tmp_path)) == 1
    logging.getLogger(f"{PACKAGE}.test").error("the second group failed")
    second.close()
    assert handlers(tmp_path) == []
    assert "the second group failed" in log_path(tmp_path).read_text()
