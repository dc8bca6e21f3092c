"""Templates vs kernels (w): the MLP's first layer beside the CNN's, from their newest trained runs.

An MLP unit sees the whole image, so each of its 50 first-layer units learns a 28x28
template (39,250 weights in all); a CNN's first conv learns 4 kernels of 3x3 (40) and
slides them everywhere. The weights come from the runs store, read in a thread worker
(torch), so the screen opens at once and fills in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ..failures import unexpected
from ..widgets import heatmap
from ..widgets.info import Info
from ..widgets.map_grid import MapGrid

if TYPE_CHECKING:
    from ...store.runs import RunRecord
    from .context import LessonContext

ENLARGE = 4  # the CNN's 3x3 kernels are drawn this many times larger (the caption says so)
SIDES = (("mlp", "MLP", "units, each a template"), ("simple_cnn", "CNN", "kernels"))


@dataclass(frozen=True)
class FirstLayer:
    """What one side shows: the run, its first layer as maps, and the parameter counts."""

    record: RunRecord
    maps: np.ndarray  # (n, h, w) weights
    layer_params: int


@dataclass(frozen=True)
class InitialLayer:
    """A side with no trained run: its preset's first layer as a run with this seed starts it."""

    arch: str
    seed: int
    maps: np.ndarray  # (n, h, w) weights
    layer_params: int
    params: int


def missing(arch: str) -> Text:
    """What to do when the store has no finished run of `arch`."""
    return Text(
        f"no trained {arch} run: load the {arch} preset (p) and train (t), or `cnn-tui train {arch}`", style="yellow"
    )


class TemplatesScreen(Screen):
    """Side by side: 50 MLP templates of 28x28 and 4 CNN kernels of 3x3, each with its parameter count."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("tab", "app.focus_next", "Other side", show=False),
    ]

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.runs_dir = context.runs_dir
        self.show_volatile = context.show_volatile
        self.seed = context.seed
        self.first_layers: dict[str, FirstLayer | InitialLayer | Text] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="tpl-body"):
            for arch, _, _ in SIDES:
                with Vertical(id=f"tpl-{arch}", classes="tpl-side"):
                    yield Info(Text(f"loading the newest {arch} run...", style="dim"), classes="tpl-head")
                    yield MapGrid(classes="tpl-grid")
        yield Footer()

    def on_mount(self) -> None:
        for arch, title, _ in SIDES:
            self.query_one(f"#tpl-{arch}").border_title = f"{title}: {arch}"
        self.load()

    @work(thread=True, exit_on_error=False)
    def load(self) -> None:
        """In a thread: the newest finished runs' first layers, or what went wrong in place of each."""
        try:
            found = self._first_layers()
        except Exception as exc:  # noqa: BLE001 - shown on the screen, the traceback logged
            line = unexpected(self.app, exc, "reading the runs")
            found = {arch: Text(line, style="red") for arch, _, _ in SIDES}
        self.app.call_from_thread(self.show_layers, found)

    def _first_layers(self) -> dict[str, FirstLayer | InitialLayer | Text]:
        """The newest finished run of each side's arch, its first layer as maps (torch builds the models)."""
        from ...lessons.models import first_layer_maps
        from ...store.compare import load_model, newest, run_spec
        from ...store.runs import RunStore, StoreError

        try:
            store = RunStore.open(self.runs_dir)
        except StoreError as exc:
            return {arch: Text(str(exc), style="red") for arch, _, _ in SIDES}
        try:
            records = store.runs()
            found: dict[str, FirstLayer | InitialLayer | Text] = {}
            for arch, _, _ in SIDES:
                record = newest(records, arch)
                if record is None:
                    found[arch] = self._initial(arch)
                    continue
                spec = run_spec(record)
                try:
                    result = first_layer_maps(load_model(store, record), spec)  # load_model checks the spec
                except StoreError as exc:
                    found[arch] = Text(str(exc), style="red")
                    continue
                if isinstance(result, str):
                    found[arch] = Text(result, style="yellow")
                else:
                    maps, params = result
                    found[arch] = FirstLayer(record, maps.numpy(), params)
        finally:
            store.close()
        return found

    def _initial(self, arch: str) -> InitialLayer | Text:
        """The preset's first layer at initialisation, exactly as a run with this seed starts it."""
        from ...architecture.init import initial_model
        from ...architecture.presets import preset
        from ...lessons.models import first_layer_maps

        spec = preset(arch)
        model = initial_model(spec, self.seed)
        result = first_layer_maps(model, spec)
        if isinstance(result, str):
            return missing(arch)
        maps, params = result
        return InitialLayer(arch, self.seed, maps.numpy(), params, sum(p.numel() for p in model.parameters()))

    def show_layers(self, found: dict[str, FirstLayer | InitialLayer | Text]) -> None:
        self.first_layers = found
        for arch, _, what in SIDES:
            side = self.query_one(f"#tpl-{arch}")
            head, grid = side.query_one(".tpl-head", Info), side.query_one(MapGrid)
            layer = found[arch]
            if isinstance(layer, Text):
                head.show(layer)
                grid.show_maps(None)
                continue
            scale = heatmap.max_abs(layer.maps)
            maps = heatmap.levels(layer.maps, scale)
            n, h, w = layer.maps.shape
            enlarge = ENLARGE if w < 8 else 1
            if enlarge > 1:
                maps = np.stack([heatmap.upscale(m, enlarge) for m in maps])
            head.show(self._head(layer, f"{n} {what} of {h}x{w}", enlarge, scale))
            grid.show_maps(maps)

    def _head(self, layer: FirstLayer | InitialLayer, maps: str, enlarge: int, scale: float) -> Text:
        params = layer.params if isinstance(layer, InitialLayer) else layer.record.params
        text = Text.assemble(
            (f"{params:,}", "bold"),
            " params in all  ",
            ("first layer ", "dim"),
            (f"{layer.layer_params:,}", "bold"),
            (" params", "dim"),
            f"\n{maps}",
        )
        if enlarge > 1:
            text.append(f", drawn {enlarge}x larger", style="dim")
        if isinstance(layer, InitialLayer):
            text.append(f"\ninitial weights, seed {layer.seed}: ", style="dim")
            text.append_text(missing(layer.arch))
            text.append("\n")
            text.append_text(heatmap.legend(scale, 15))
            return text
        record = layer.record
        acc = f"{record.final_val_acc:.1%}" if record.final_val_acc is not None else "-"
        run = f"run {record.run_id}  " if self.show_volatile else ""
        text.append(f"\n{run}{record.dataset}  val acc {acc}\n", style="dim")
        text.append_text(heatmap.legend(scale, 15))
        return text
