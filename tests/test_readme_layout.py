"""The README's Layout section names every module, each under its own folder."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def layout_sections() -> dict[str, str]:
    """Folder (relative to tui_cnn, "" for the package itself) -> the text of its lines in the tree."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    sections: dict[str, str] = {}
    path: list[str] = []
    current = ""
    for line in block.splitlines()[2:]:  # after the fence's newline and the "tui_cnn/" line
        folder = re.match(r"( +)(\w+)/ ", line)
        if folder:
            depth = len(folder.group(1)) // 2 - 1
            path = [*path[:depth], folder.group(2)]
            current = "/".join(path)
        elif not line.startswith("   "):  # a top-level line that is no folder: the package's own modules
            current = ""
        sections[current] = sections.get(current, "") + " " + line
    return sections


def test_every_module_is_in_the_layout_under_its_folder() -> None:
    sections = layout_sections()
    missing = []
    for module in sorted((ROOT / "tui_cnn").rglob("*.py")):
        if module.stem in ("__init__", "__main__"):
            continue
        folder = module.parent.relative_to(ROOT / "tui_cnn").as_posix().replace(".", "")
        if not re.search(rf"\b{module.stem}\b", sections.get(folder, "")):
            missing.append(module.relative_to(ROOT).as_posix())
    assert not missing, f"README Layout does not name: {missing}"


def test_every_folder_in_the_layout_exists() -> None:
    folders = [folder for folder in layout_sections() if folder]
    assert folders
    assert [f for f in folders if not (ROOT / "tui_cnn" / f).is_dir()] == []
