"""The Architecture pane: the layers as a list, edited from the keyboard.

The pane owns the spec history. Every change makes a new immutable spec, computes its
budget once and posts `SpecChanged`, so the other panes follow without knowing who
edited. Impossible layers are shown in red with the budget's reason, never raised.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ...architecture.budget import Budget, Row, budget_of
from ...architecture.history import SpecHistory
from ...architecture.presets import PRESETS, preset
from ...architecture.spec import Layer, ParseError, Spec, format_shape, parse_line
from ...architecture.specfile import read_spec, write_spec
from ..actions import ARCHITECTURE, LAYER_LIST, bindings
from ..dialogs.modals import LayerForm, LayerPicker, OpenSpec, PresetPicker, Prompt, has_fields, new_layer
from ..messages import SpecChanged
from ..widgets.info import Info
from .focus import RestyleAloneOnFocus


class LayerList(OptionList):
    """The layers, one option each; enter edits the highlighted one."""

    BINDINGS = bindings(LAYER_LIST)


def layer_prompt(row: Row, after_error: bool) -> Text:
    """One layer's line: index, its text and output shape, or its error on a second line."""
    text = Text(f"{row.index:>2} ", style="dim")
    if row.error:
        text.append(f"{row.spec:<17}", style="bold red")
        text.append("✗", style="bold red")
        text.append(f"\n   {row.error}", style="red")
        return text
    if after_error or row.out_shape is None:
        text.append(f"{row.spec:<17}?", style="dim")
        return text
    text.append(f"{row.spec:<17}")
    text.append(format_shape(row.out_shape), style="cyan")
    return text


def renamed(spec: Spec) -> Spec:
    """An edited preset is no longer that preset: runs should not record it by its name."""
    if spec.name in PRESETS and preset(spec.name).layers != spec.layers:
        return replace(spec, name="custom")
    return spec


class ArchitecturePane(RestyleAloneOnFocus, Vertical):
    """Layers with their output shapes; add, edit, delete, move, duplicate, undo, presets, files."""

    BINDINGS = bindings(ARCHITECTURE)

    def __init__(self, spec: Spec, spec_dir: Path, **kwargs) -> None:
        super().__init__(**kwargs)
        self.history = SpecHistory(spec)
        self.spec_dir = spec_dir
        self.budget: Budget = budget_of(spec)
        self._enabled: bool | None = None

    @property
    def spec(self) -> Spec:
        return self.history.current

    def compose(self) -> ComposeResult:
        yield Info(id="arch-head")
        yield LayerList(id="layers")
        yield Info(id="arch-status")

    def on_mount(self) -> None:
        self.border_title = "Architecture"
        self._show(0)

    @property
    def cursor(self) -> int:
        highlighted = self.query_one(LayerList).highlighted
        return highlighted if highlighted is not None and highlighted < len(self.spec.layers) else 0

    def _show(self, cursor: int) -> None:
        """Redraw the list from the current spec and tell the other panes."""
        spec = self.spec
        self.budget = budget = budget_of(spec)
        listing = self.query_one(LayerList)
        error = budget.error
        options = [
            Option(layer_prompt(row, error is not None and row.index > error.index), id=f"layer-{row.index}")
            for row in budget.rows
        ]
        if not options:
            options = [Option(Text("(no layers: press a to add one, p for a preset)", style="dim"), disabled=True)]
        listing.set_options(options)
        if spec.layers:
            listing.highlighted = max(0, min(cursor, len(spec.layers) - 1))
        out = format_shape(budget.out_shape) if budget.out_shape else "?"
        self.query_one("#arch-head", Info).show(
            Text.assemble((spec.name, "bold"), ("  in ", "dim"), format_shape(spec.input_shape), ("  out ", "dim"), out)
        )
        status = self.query_one("#arch-status", Info)
        if error:
            status.show(Text(f"✗ layer {error.index} cannot work (reason above): training is off", style="bold red"))
        else:
            status.show(Text(f"✓ {len(spec.layers)} layers, {budget.total_params:,} params", style="green"))
        self.set_class(error is not None, "invalid")
        self.post_message(SpecChanged(spec, budget))
        enabled = bool(spec.layers)
        if enabled != self._enabled:  # the footer rebuilds itself on a refresh: only when it changes
            self._enabled = enabled
            self.screen.refresh_bindings()

    def change(self, spec: Spec, cursor: int) -> None:
        """Make `spec` current (recorded for undo) and put the cursor on `cursor`."""
        if self.history.push(renamed(spec)):
            self._show(cursor)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Layer actions are shown disabled on an empty spec. Undo and redo stay enabled (they say
        when there is nothing to do): toggling them on every edit would rebuild the footer each time."""
        if action in ("edit", "delete", "duplicate", "move") and not self.spec.layers:
            return None
        return True

    def _in_shape(self, index: int) -> tuple[int, ...] | None:
        """The shape entering layer `index` (None after an impossible layer)."""
        if index == 0:
            return self.spec.input_shape
        return self.budget.rows[index - 1].out_shape if index - 1 < len(self.budget.rows) else None

    def action_add(self) -> None:
        index = self.cursor + 1 if self.spec.layers else 0

        def picked(kind: str | None) -> None:
            if kind is None:
                return
            layer = new_layer(kind)
            if not has_fields(kind):
                self.change(self.spec.insert(index, layer), index)
                return
            form = LayerForm(layer, self._in_shape(index), index, title="New layer")
            self.app.push_screen(form, lambda new: new and self.change(self.spec.insert(index, new), index))

        self.app.push_screen(LayerPicker(), picked)

    @on(OptionList.OptionSelected, "#layers")
    def selected(self) -> None:
        self.action_edit()

    def action_edit(self) -> None:
        if not self.spec.layers:
            return
        index = self.cursor
        layer = self.spec.layers[index]
        if not has_fields(layer.kind):
            self.notify(f"{layer.kind} has no options: delete it (d) or add another layer (a)", timeout=3)
            return

        def edited(new: Layer | None) -> None:
            if new is not None:
                self.change(self.spec.set(index, new), index)

        self.app.push_screen(LayerForm(layer, self._in_shape(index), index), edited)

    def action_delete(self) -> None:
        if self.spec.layers:
            index = self.cursor
            self.change(self.spec.delete(index), min(index, len(self.spec.layers) - 2))

    def action_duplicate(self) -> None:
        if self.spec.layers:
            index = self.cursor
            self.change(self.spec.insert(index + 1, self.spec.layers[index]), index + 1)

    def action_move(self, offset: int) -> None:
        index = self.cursor
        moved = self.spec.move(index, offset)
        if moved != self.spec:
            self.change(moved, index + offset)

    def action_undo(self) -> None:
        if self.history.undo() is None:
            self.notify("nothing to undo", timeout=2)
        else:
            self._show(self.cursor)

    def action_redo(self) -> None:
        if self.history.redo() is None:
            self.notify("nothing to redo", timeout=2)
        else:
            self._show(self.cursor)

    def action_preset(self) -> None:
        def picked(name: str | None) -> None:
            if name is not None:
                self.change(preset(name), 0)

        self.app.push_screen(PresetPicker(), picked)

    def action_line(self) -> None:
        spec = self.spec

        self.app.push_screen(
            Prompt(
                "Type or paste an architecture",
                spec.line(),
                lambda text: parse_line(text, name=spec.name, input_shape=spec.input_shape),
                hint="layers separated by |, e.g. conv 8 s2 | relu | flatten | linear 10   enter: apply",
            ),
            lambda new: new is not None and self.change(new, self.cursor),
        )

    def _path(self, text: str) -> Path:
        path = Path(text.strip()).expanduser()
        return path if path.is_absolute() else self.spec_dir / path

    def action_save(self) -> None:
        spec = self.spec

        def save(text: str) -> Path | str:
            if not text.strip():
                return "type a file name, e.g. my_cnn.spec"
            path = self._path(text)
            try:
                write_spec(path, spec)
            except OSError as exc:
                return f"cannot write {path}: {exc.strerror or exc}"
            return path

        self.app.push_screen(
            Prompt("Save the spec as", f"{spec.name}.spec", save),
            lambda path: path is not None and self.notify(f"saved {path.name}", timeout=3),
        )

    def action_open(self) -> None:
        def open_(text: str) -> Spec | ParseError | str:
            if not text.strip():
                return "type a path, or pick a file below"
            return read_spec(self._path(text))

        self.app.push_screen(OpenSpec(open_, self.spec_dir), lambda new: new is not None and self.change(new, 0))
