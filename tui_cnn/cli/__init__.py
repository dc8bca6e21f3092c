"""The headless shell: click commands over the core, and their Rich output."""

from . import sweeps  # noqa: F401 - registers `sweep` and `ladder` on `main`
from .commands import main, run

__all__ = ["main", "run"]
