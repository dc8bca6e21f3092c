"""`python -m tui_cnn` is the `cnn-tui` command."""

from .cli import run

run()
