"""The layers hold: the import contracts in pyproject.toml pass here, and fail when one is broken."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the package in `tree`, with this checkout's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    args = [sys.executable, "-c", LINT, "--no-cache", "--config", str(ROOT / "pyproject.toml")]
    return subprocess.run(args, cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("architecture/budget.py", "import rich", "The core imports neither Textual nor Rich"),
        ("store/runs.py", "from ..ui import messages", "The core imports neither Textual nor Rich"),
        ("ui/widgets/info.py", "from ...cli import tables", "ui/ never imports cli/"),
        ("architecture/spec.py", "from ..training import config", "The core's layers point down"),
    ],
)
def test_a_broken_layer_fails_the_contracts(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(ROOT / "tui_cnn", tmp_path / "tui_cnn", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "tui_cnn" / module
    path.write_text(path.read_text() + f"\n\nif False:\n    {line}  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    assert "2 kept, 1 broken" in result.stdout
