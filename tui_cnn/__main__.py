"""`python -m tui_cnn` is the `cnn-tui` command."""

from .cli import main

main(prog_name="cnn-tui")
