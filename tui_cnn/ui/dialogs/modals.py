"""The small dialogs: pick a layer or preset, edit a layer, type a line, files, settings, confirmations.

Each one validates with the core (the parser, the budget, `TrainConfig.validate`)
and shows the reason in place, so a dialog only ever returns a usable value, or None
when cancelled with escape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ...architecture.budget import budget_of, layer_row
from ...architecture.presets import PRESETS, preset
from ...architecture.spec import LAYER_HELP, Layer, ParseError, format_shape, parse_layers
from ...training.transforms import permuted_name, split_name

T = TypeVar("T")

# Which fields the layer form shows for each kind: (name, label, flag letter in the language).
LAYER_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "conv": (
        ("out", "output channels", ""),
        ("kernel", "kernel size", "k"),
        ("stride", "stride", "s"),
        ("padding", "padding", "p"),
    ),
    "local": (
        ("out", "output channels", ""),
        ("kernel", "kernel size", "k"),
        ("stride", "stride", "s"),
        ("padding", "padding", "p"),
    ),
    "linear": (("out", "output features", ""),),
    "maxpool": (("kernel", "kernel size", ""), ("stride", "stride", "s"), ("padding", "padding", "p")),
    "avgpool": (("kernel", "kernel size", ""), ("stride", "stride", "s"), ("padding", "padding", "p")),
    "dropout": (("p", "drop rate", ""),),
}

# A new layer's starting values in the form: PyTorch's defaults and a sensible width.
NEW_LAYER: dict[str, Layer] = {
    "conv": Layer("conv", out=8, kernel=3, stride=1, padding=1),
    "local": Layer("local", out=8, kernel=3, stride=1, padding=1),
    "linear": Layer("linear", out=10),
    "maxpool": Layer("maxpool", kernel=2, stride=2, padding=0),
    "avgpool": Layer("avgpool", kernel=2, stride=2, padding=0),
    "dropout": Layer("dropout", p=0.2),
}


def error_caret(error: ParseError, width: int = 80) -> Text:
    """The error under the part of the line it points at: `...| flatten lnear 10` then `^ column 100: ...`."""
    text = Text()
    if error.source:
        start = max(0, error.column - 1 - width * 2 // 3)
        prefix = "…" if start else ""
        snippet = prefix + error.source[start : start + width - len(prefix)]
        text.append(snippet + "\n", style="dim")
        text.append(" " * (error.column - 1 - start + len(prefix)) + "^\n", style="bold red")
    text.append(str(error), style="red")
    return text


class Dialog(ModalScreen[T], Generic[T]):
    """A centred box with a title; escape cancels (dismisses with None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_mount(self) -> None:
        self.query_one(".dialog").border_title = self.title_text


class LayerPicker(Dialog[str]):
    """Choose the kind of layer to add, each with its one-line help."""

    def __init__(self) -> None:
        super().__init__("Add a layer")

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield OptionList(
                *(
                    Option(Text.assemble((f"{kind:<8}", "bold"), " ", help_.split("  ", 1)[-1]), id=kind)
                    for kind, help_ in LAYER_HELP.items()
                )
            )
            yield Static("enter: choose   escape: cancel", classes="hint")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_id)


class PresetPicker(Dialog[str]):
    """Choose a named architecture; its parameter count comes from the budget."""

    def __init__(self) -> None:
        super().__init__("Load a preset")

    def compose(self) -> ComposeResult:
        options = []
        for name, (_, about) in PRESETS.items():
            params = budget_of(preset(name)).total_params
            options.append(Option(Text.assemble((f"{name:<11}", "bold"), f"{params:>8,}  ", (about, "dim")), id=name))
        with Vertical(classes="dialog wide"):
            yield OptionList(*options)
            yield Static("enter: load (undo with u)   escape: cancel", classes="hint")

    @on(OptionList.OptionSelected)
    def chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_id)


class LayerForm(Dialog[Layer]):
    """Edit one layer's numbers; the parser checks them and the budget shows the new shape."""

    def __init__(self, layer: Layer, in_shape: tuple[int, ...] | None, index: int, title: str = "Edit layer") -> None:
        super().__init__(f"{title} {index}: {layer.kind}")
        self.original = layer
        self.in_shape = in_shape
        self.index = index
        self.result: Layer | None = layer

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            for name, label, _ in LAYER_FIELDS.get(self.original.kind, ()):
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(_field_value(self.original, name), id=f"f-{name}", compact=True)
            if self.original.kind in ("conv", "local", "linear"):
                yield Checkbox("bias", self.original.bias, id="f-bias")
            yield Static(id="verdict")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.check()

    def _line(self) -> str | ParseError:
        """The fields as one layer of the language, so the parser does the checking."""
        parts = [self.original.kind]
        for name, label, flag in LAYER_FIELDS.get(self.original.kind, ()):
            value = self.query_one(f"#f-{name}", Input).value.strip()
            if not value:
                return ParseError(f"{label} is required")
            parts.append(f"{flag}{value}")
        if self.original.kind in ("conv", "local", "linear") and not self.query_one("#f-bias", Checkbox).value:
            parts.append("nobias")
        return " ".join(parts)

    def check(self) -> Layer | None:
        """Parse the fields as a line of the language; show the layer and its output shape."""
        verdict = self.query_one("#verdict", Static)
        line = self._line()
        parsed = line if isinstance(line, ParseError) else parse_layers(line)
        if isinstance(parsed, ParseError):
            verdict.update(Text(parsed.message, style="red"))
            self.result = None
            return None
        layer = parsed[0]
        self.result = layer
        text = Text.assemble(("→ ", "dim"), (layer.line(), "bold"))
        if self.in_shape is not None:
            row = layer_row(self.index, layer, self.in_shape)
            if row.error:
                text.append(f"\n{row.error}", style="yellow")
            else:
                text.append(f"  output {format_shape(row.out_shape)}", style="green")
                if row.params:
                    text.append(f"  {row.params:,} params")
        verdict.update(text)
        return layer

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def changed(self) -> None:
        self.check()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        layer = self.check()
        if layer is not None:
            self.dismiss(layer)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)


def _field_value(layer: Layer, name: str) -> str:
    value = getattr(layer, name)
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


class Prompt(Dialog[T]):
    """One line of text checked by `check` (value or error message) before it is accepted."""

    def __init__(
        self,
        title: str,
        value: str,
        check: Callable[[str], T | ParseError | str],
        hint: str = "",
        placeholder: str = "",
    ) -> None:
        super().__init__(title)
        self.value = value
        self.check = check
        self.hint = hint
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Input(self.value, placeholder=self.placeholder, id="prompt")
            yield Static(id="verdict")
            yield Static(self.hint or "enter: accept   escape: cancel", classes="hint")

    @on(Input.Changed)
    def clear_error(self) -> None:
        self.query_one("#verdict", Static).update("")

    @on(Input.Submitted)
    def submit(self, event: Input.Submitted) -> None:
        result = self.check(event.value)
        if isinstance(result, ParseError):
            self.query_one("#verdict", Static).update(error_caret(result))
        elif isinstance(result, str):
            self.query_one("#verdict", Static).update(Text(result, style="red"))
        else:
            self.dismiss(result)


class OpenSpec(Prompt[T]):
    """A path prompt with the spec files found in a directory listed below it."""

    BINDINGS = [Binding("down", "focus_files", "Files", show=False)]

    def __init__(self, check: Callable[[str], T | ParseError | str], directory: Path) -> None:
        super().__init__(
            "Open a spec file",
            "",
            check,
            hint="type a path, or down to pick a file; enter: open   escape: cancel",
            placeholder="path/to/file.spec",
        )
        self.directory = directory

    def compose(self) -> ComposeResult:
        files = sorted(p.name for p in self.directory.glob("*.spec") if p.is_file()) if self.directory.is_dir() else []
        with Vertical(classes="dialog wide"):
            yield Input(placeholder=self.placeholder, id="prompt")
            yield Static(id="verdict")
            yield OptionList(*files, id="files") if files else Static("(no .spec files here)", classes="hint")
            yield Static(self.hint, classes="hint")

    def action_focus_files(self) -> None:
        files = self.query("#files")
        if files:
            files.first().focus()

    @on(OptionList.OptionSelected)
    def picked(self, event: OptionList.OptionSelected) -> None:
        name = str(event.option.prompt)
        result = self.check(str(self.directory / name))
        if isinstance(result, ParseError | str):
            self.query_one("#verdict", Static).update(Text(str(result), style="red"))
        else:
            self.dismiss(result)


class HyperParams(Dialog[tuple[Any, str, int]]):
    """Epochs, batch size, learning rate, optimizer, seed, seeds, dataset and its pixel shuffle, checked by the core.

    Seeds above 1 train a seed group (seed, seed + 1, ...) in one step: the curves show their mean and spread.
    The shuffle is the CLI's `--permute-pixels SEED`: blank leaves the pixels as they are,
    a seed makes the dataset `NAME/permSEED`, the name its runs are recorded under.
    """

    FIELDS = (("epochs", "epochs"), ("batch_size", "batch size"), ("lr", "learning rate"), ("seed", "seed"))
    MAX_SEEDS = 64

    def __init__(self, config: Any, dataset: str, datasets: Sequence[str], seeds: int = 1) -> None:
        super().__init__("Training settings")
        self.config = config
        self.dataset, self.permutation = split_name(dataset)
        self.datasets = list(dict.fromkeys([self.dataset, *datasets]))
        self.seeds = seeds

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            for name, label in self.FIELDS:
                with Horizontal(classes="field"):
                    yield Label(label)
                    yield Input(f"{getattr(self.config, name):g}", id=f"f-{name}", compact=True)
            with Horizontal(classes="field"):
                yield Label("seeds (a group)")
                yield Input(str(self.seeds), id="f-seeds", compact=True)
            with Horizontal(classes="field"):
                yield Label("optimizer")
                choices = list(dict.fromkeys([self.config.optimizer, "adam", "adamw", "sgd"]))
                yield Select(
                    [(o, o) for o in choices], value=self.config.optimizer, allow_blank=False, id="f-optimizer"
                )
            with Horizontal(classes="field"):
                yield Label("dataset")
                yield Select(
                    [(d, d) for d in self.datasets], value=self.dataset, allow_blank=False, id="f-dataset", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("shuffle pixels")
                shuffle = "" if self.permutation is None else str(self.permutation)
                yield Input(shuffle, placeholder="off (a seed shuffles)", id="f-permute", compact=True)
            yield Static(id="verdict")
            with Horizontal(classes="buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def build(self) -> tuple[Any, str, int] | str:
        """The new (config, dataset, seeds), or why not."""
        values: dict[str, Any] = {}
        for name, label in self.FIELDS:
            text = self.query_one(f"#f-{name}", Input).value.strip()
            kind = float if name == "lr" else int
            try:
                values[name] = kind(text)
            except ValueError:
                return f"{label} must be a {'number' if kind is float else 'whole number'}, got {text!r}"
        values["optimizer"] = str(self.query_one("#f-optimizer", Select).value)
        config = dataclasses.replace(self.config, **values)
        problem = config.validate()
        if problem:
            return problem
        text = self.query_one("#f-seeds", Input).value.strip()
        try:
            seeds = int(text)
        except ValueError:
            return f"seeds must be a whole number, got {text!r}"
        if not 1 <= seeds <= self.MAX_SEEDS:
            return f"seeds must be 1 (a solo run) to {self.MAX_SEEDS}, got {seeds}"
        base, shuffle = str(self.query_one("#f-dataset", Select).value), self.query_one("#f-permute", Input).value
        try:
            return config, permuted_name(base, int(shuffle) if shuffle.strip() else None), seeds
        except ValueError as exc:
            if shuffle.strip().lstrip("-").isdigit():
                return str(exc)
            return f"shuffle pixels must be a seed (a whole number) or blank, got {shuffle.strip()!r}"

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        result = self.build()
        if isinstance(result, str):
            self.query_one("#verdict", Static).update(Text(result, style="red"))
        else:
            self.dismiss(result)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)


class Confirm(Dialog[bool]):
    """Ask before doing what cannot be undone (deleting runs); y or the button confirms, n or escape cancels."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes"),
    ]

    def __init__(self, title: str, body: str | Text, ok: str, cancel: str = "Cancel") -> None:
        super().__init__(title)
        self.body, self.ok, self.cancel = body, ok, cancel

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.body)
            with Horizontal(classes="buttons"):
                yield Button(f"{self.ok} (y)", variant="error", id="ok", compact=True)
                yield Button(f"{self.cancel} (n)", variant="primary", id="cancel", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#cancel", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#ok")
    def ok_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)


class ConfirmQuit(Confirm):
    """Quitting stops the run after its current step; ask first (q again, or y, quits)."""

    BINDINGS = [Binding("q", "confirm", "Quit")]

    def __init__(self) -> None:
        body = "A run is going. Quitting stops it after the current step\nand completes its record in the runs store."
        super().__init__("Quit?", body, "Quit", "Keep training")


def new_layer(kind: str) -> Layer:
    """The layer a picked kind starts as: defaults for those with numbers, else the bare kind."""
    return NEW_LAYER.get(kind, Layer(kind))


def has_fields(kind: str) -> bool:
    """Whether a kind has numbers to fill in (else it is added or kept as it is)."""
    return kind in LAYER_FIELDS
