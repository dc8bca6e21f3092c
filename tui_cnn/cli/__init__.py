"""The headless shell: click commands over the core, and their Rich output."""

from .commands import main, run

__all__ = ["main", "run"]
