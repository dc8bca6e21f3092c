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
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("architecture/budget.py", "import rich", "The core imports neither Textual nor Rich"),
        ("store/runs.py", "from ..ui import messages", "The core imports neither Textual nor Rich"),
        ("ui/widgets/info.py", "from ...cli import tables", "ui/ never imports cli/"),
        ("architecture/spec.py", "from ..training import config", "The core's layers point down"),
        ("ui/screens/runs.py", "from ..main_screen import MainScreen", "Screens take a value, never the main screen"),
        ("lessons/fields.py", "import torch", "The arithmetic that runs on every keystroke imports no torch"),
    ],
)
def test_a_broken_layer_fails_the_contracts(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copytree(ROOT / "tui_cnn", tmp_path / "tui_cnn", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "tui_cnn" / module
    path.write_text(path.read_text() + f"\n\nif False:\n    {line}  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
    assert "4 kept, 1 broken" in result.stdout


def test_the_package_has_no_import_cycle() -> None:
    """No circle of imports, type-only ones included (grimp is import-linter's graph)."""
    import grimp

    graph = grimp.build_graph("tui_cnn", cache_dir=None)
    internal = {m for m in graph.modules if m.startswith("tui_cnn")}
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.find_modules_directly_imported_by(module) & internal):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(internal):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)
