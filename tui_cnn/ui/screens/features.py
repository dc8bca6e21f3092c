"""Feature maps (i): one validation digit through the network, layer by layer.

The digit, what the model predicts (probability bars), and every layer's output as
heatmaps (blue negative, white zero, red positive; one colour scale per layer). Left
and right step through the digits, r jumps to a random one (a seeded generator, so a
session is repeatable). On shuffled pixels (`mnist-5k/perm1`) the digit is drawn as the
network sees it, and u puts the same digit unshuffled beside it. While a run trains,
the maps follow its latest weights, at most twice a second; before any run they come
from a fresh seeded model, and say so.

The model is rebuilt from the spec and the run's state dict in a thread worker, and
the forward pass runs there too: the event loop never imports torch. t starts a run
from here, as on the main screen.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer

from ...architecture.budget import budget_of
from ...architecture.spec import format_shape
from ...lessons.models import activations, model_from, predict
from ...training.transforms import split_name
from ..failures import unexpected
from ..widgets import digit, heatmap
from ..widgets.info import Info
from ..widgets.segments import SegmentLines
from .snapshots import weights_source

if TYPE_CHECKING:
    from ...training.data import Dataset
    from ..messages import WeightSnapshot
    from .context import LessonContext

RANDOM_SEED = 0  # r draws digits from random.Random(RANDOM_SEED): the same sequence every session
POLL_S = 0.5  # how often the screen looks for newer weights while a run trains
BAR = 20  # columns of a 100% probability bar
MOST = 4  # the largest scale-up of a small activation map
TALLEST = 14  # pixels: no map is scaled up past half the digit's height


@dataclass(frozen=True)
class Look:
    """One digit through the model: each layer's output and the class probabilities, as numpy."""

    digit: int
    outputs: list[np.ndarray]
    probs: np.ndarray
    snapshot: WeightSnapshot | None


def fit(maps: int, h: int, w: int, width: int) -> tuple[int, int]:
    """(scale, columns): the largest scale (at most MOST, TALLEST pixels high) fitting one row, else 1, wrapped."""
    for scale in range(min(MOST, max(1, TALLEST // h)), 0, -1):
        if maps * (w * scale + 1) + 1 <= width:
            return scale, maps
    return 1, max(1, (width - 1) // (w + 1))


class FeaturesScreen(Screen):
    """A digit, the prediction and every layer's activations; escape goes back."""

    BINDINGS = [
        Binding("escape", "close", "Back"),
        Binding("left", "step(-1)", "Prev digit", key_display="←"),
        Binding("right", "step(1)", "Next digit", key_display="→"),
        Binding("r", "random", "Random", tooltip="a random validation digit (seeded)"),
        Binding("u", "unshuffle", "Unshuffled", tooltip="the digit in its own pixel order beside the shuffled one"),
        Binding(
            "t", "app.train('start')", "Train", tooltip="train this architecture; the maps follow its weights live"
        ),
        Binding("up", "scroll(-1)", "Scroll up", show=False),
        Binding("down", "scroll(1)", "Scroll down", show=False),
        Binding("pageup", "scroll(-10)", "Page up", show=False),
        Binding("pagedown", "scroll(10)", "Page down", show=False),
    ]

    def __init__(self, context: LessonContext) -> None:
        super().__init__()
        self.context = context
        self.spec = context.spec
        self.budget = budget_of(self.spec)
        self.dataset, self.data_dir = context.dataset, context.data_dir
        self.rng = random.Random(RANDOM_SEED)
        self.data: Dataset | None = None
        self.images: np.ndarray | None = None  # uint8 [N, H, W], as the network sees them
        self.plain: np.ndarray | None = None  # the same digits unshuffled (the same array when not shuffled)
        self.permutation = split_name(self.dataset)[1]
        self.unshuffled = False  # u: the unshuffled digit beside the shuffled one
        self.labels: list[int] = []
        self.class_names: tuple[str, ...] = ()
        self.digit = 0
        self.snapshot = context.weights()
        self.look: Look | None = None
        self.problem = "loading digits…"
        self._model: tuple[WeightSnapshot | None, Any] | None = None  # (the weights it was built from, the model)

    def compose(self) -> ComposeResult:
        with Horizontal(id="ft-top"):
            yield Info(id="ft-digit")
            with Vertical(id="ft-side"):
                yield Info(id="ft-head")
                yield Info(id="ft-probs")
        with VerticalScroll(id="ft-maps", can_focus=False):
            yield Info(id="ft-layers")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Feature maps"
        self.run_worker(self._load, thread=True, group="digits", exit_on_error=False)
        self.set_interval(POLL_S, self._poll)
        self._draw()

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)  # maps are laid out for the width they have

    # -- actions ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.permutation is not None if action == "unshuffle" else True

    def action_close(self) -> None:
        self.dismiss()

    def action_unshuffle(self) -> None:
        self.unshuffled = not self.unshuffled
        self.set_class(self.unshuffled, "-pair")
        self._draw()

    def action_step(self, step: int) -> None:
        if self.images is not None:
            self._go((self.digit + step) % len(self.images))

    def action_random(self) -> None:
        if self.images is not None:
            self._go(self.rng.randrange(len(self.images)))

    def action_scroll(self, lines: int) -> None:
        maps = self.query_one("#ft-maps", VerticalScroll)
        maps.scroll_to(y=maps.scroll_y + lines, animate=False)

    def _go(self, index: int) -> None:
        self.digit = index
        self._draw()
        self._forward()

    def _poll(self) -> None:
        """Newer weights from the Training pane (a live snapshot or the final one): look again."""
        snap = self.context.weights()
        if snap is not self.snapshot:
            self.snapshot = snap
            self._forward()

    # -- data and the model (in threads) ---------------------------------------------

    def _load(self) -> None:
        from ...training.data import DataError, load

        try:
            data = load(self.dataset, self.data_dir)
            images = data.images("val").numpy()
            plain = data.images("val", unshuffled=True).numpy() if data.permutation is not None else images
            self.app.call_from_thread(self._loaded, data, (images, plain), data.y_val.tolist(), "")
        except DataError as exc:
            self.app.call_from_thread(self._loaded, None, None, [], f"no digits ({exc})")
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.app.call_from_thread(self._loaded, None, None, [], unexpected(self.app, exc, "loading the digits"))

    def _loaded(
        self,
        data: Dataset | None,
        images: tuple[np.ndarray, np.ndarray] | None,
        labels: list[int],
        problem: str,
    ) -> None:
        """`images`: the digits as the network sees them and unshuffled, or None if they could not load."""
        self.data, self.labels, self.problem = data, labels, problem
        self.images, self.plain = images if images is not None else (None, None)
        self.class_names = data.classes if data is not None else ()
        self._draw()
        self._forward()

    def _forward(self) -> None:
        if self.data is not None:
            work = partial(self._run_model, self.data, self.digit, self.snapshot)
            self.run_worker(work, thread=True, exclusive=True, group="forward", exit_on_error=False)

    def _run_model(self, data: Dataset, index: int, snap: WeightSnapshot | None) -> None:
        """Runs in a thread: the model for these weights (rebuilt only when they change), then one digit through it."""
        try:
            cached = self._model
            if cached is None or cached[0] is not snap:
                cached = self._model = (snap, model_from(self.spec, snap.state_dict if snap else None))
            model, x = cached[1], data.x_val[index]
            outputs = [a.numpy() for a in activations(model, x)]
            look = Look(index, outputs, predict(model, x).numpy(), snap)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, never a traceback
            self.app.call_from_thread(self._failed, unexpected(self.app, exc, "running the model"))
            return
        self.app.call_from_thread(self._show, look)

    def _failed(self, problem: str) -> None:
        self.problem = problem
        self._draw()

    def _show(self, look: Look) -> None:
        self.look = look
        self._draw()

    # -- drawing ---------------------------------------------------------------------

    def _draw(self) -> None:
        self.query_one("#ft-digit", Info).show(self._digit())
        self.query_one("#ft-head", Info).show(self._head())
        self.query_one("#ft-probs", Info).show(self._probs())
        self.query_one("#ft-layers", Info).show(self._layers())

    def _digit(self) -> RenderableType:
        if self.images is None:
            return Text(self.problem, style="yellow")
        seen = digit.colours(self.images[self.digit])
        if not self.unshuffled or self.plain is None:
            return SegmentLines(digit.lines(seen))
        pair = digit.side_by_side([seen, digit.colours(self.plain[self.digit])])
        caption = Text.assemble(("as the network sees it".center(28), "dim"), "  ", ("unshuffled".center(28), "dim"))
        return Group(SegmentLines(digit.lines(pair)), caption)

    def _head(self) -> Text:
        text = Text()
        if self.images is not None:
            text.append("validation digit ", style="dim")
            text.append(f"{self.digit}", style="bold")
            text.append(f" of {len(self.images):,}  label ", style="dim")
            text.append(self.class_names[self.labels[self.digit]], style="bold green")
            text.append("\n")
        source = self.look.snapshot if self.look is not None else self.snapshot
        text.append(weights_source(source, how="t"), style="dim")
        if self.permutation is not None:
            text.append(f"\npixels shuffled (perm{self.permutation}): the digit as the network sees it", style="yellow")
            text.append("  u: unshuffled beside it" if not self.unshuffled else "  u: hide the unshuffled", style="dim")
        if self.problem and self.images is not None:
            text.append(f"\n{self.problem}", style="yellow")
        return text

    def _probs(self) -> Text:
        look = self.look
        if look is None or look.digit != self.digit or self.images is None:
            return Text("computing…", style="dim")
        best, true = int(look.probs.argmax()), self.labels[self.digit]
        text = Text()
        names = [self.class_names[c] if c < len(self.class_names) else str(c) for c in range(len(look.probs))]
        side = max(map(len, names))
        for c, (name, p) in enumerate(zip(names, look.probs.tolist(), strict=True)):
            style = ("bold green" if c == true else "bold red") if c == best else ""
            text.append(f"{name:>{side}} ", style=style or "dim")
            text.append("█" * round(p * BAR), style="green" if c == true else "red" if c == best else "#808080")
            text.append(f" {p:6.1%}", style=style)
            if c == true:
                text.append(" ✓ label", style="green")
            text.append("\n")
        text.rstrip()
        return text

    def _layers(self) -> RenderableType:
        look = self.look
        if look is None:
            return Text("")
        width = max(8, self.query_one("#ft-maps").content_region.width - 1)
        parts: list[RenderableType] = []
        for i, output in enumerate(look.outputs):
            row = self.budget.rows[i]
            caption = Text.assemble(
                (f"{i} ", "dim"), (row.spec, "bold"), (f"  {format_shape(tuple(output.shape))}", "")
            )
            if row.kind == "flatten":
                caption.append("  the same numbers in one row", style="dim")
                parts.append(caption)
                continue
            maps = output if output.ndim == 3 else output.reshape(-1, 1, 1)
            scale = heatmap.max_abs(maps)
            caption.append(f"  max |a| {scale:.3g}", style="dim")
            n, h, w = maps.shape
            factor, columns = fit(n, h, w, width)
            levels = heatmap.levels(maps, scale)
            if factor > 1:
                levels = np.repeat(np.repeat(levels, factor, axis=1), factor, axis=2)
            parts += [caption, SegmentLines(heatmap.Picture(heatmap.tile(levels, columns=columns)).lines())]
        return Group(*parts)
