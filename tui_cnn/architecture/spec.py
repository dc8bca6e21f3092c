"""The architecture language: one line of text <-> an immutable `Spec` value.

`conv 4 s2 | relu | conv 8 s2 | relu | flatten | linear 10`

Specs are plain frozen dataclasses so the editor can keep an undo stack of them and
compare them with `==`. Parsing never raises on user input: `parse_line` and
`parse_file` return either a `Spec` or a `ParseError` that names the token and its
1-based column, so the CLI prints one line and the editor marks it in place.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace

DEFAULT_INPUT: tuple[int, int, int] = (1, 28, 28)
MAX_LINE_CHARS = 10_000
MAX_FILE_BYTES = 100_000
MAX_WIDTH = 1_000_000  # channels or features in one layer; more cannot be useful here

# kind -> one-line help, in the order the editor's picker shows them.
LAYER_HELP: dict[str, str] = {
    "conv": "conv OUT [kK] [sS] [pP] [nobias]  2-d convolution (k3 s1 p=k//2)",
    "local": "local OUT [kK] [sS] [pP] [nobias]  a conv with its own kernel at each position",
    "linear": "linear OUT [nobias]  fully connected layer",
    "relu": "relu  max(0, x)",
    "gelu": "gelu  smooth ReLU",
    "tanh": "tanh  squashes to (-1, 1)",
    "sigmoid": "sigmoid  squashes to (0, 1)",
    "maxpool": "maxpool K [sS] [pP]  max over KxK windows (stride K)",
    "avgpool": "avgpool K [sS] [pP]  mean over KxK windows (stride K)",
    "flatten": "flatten  CxHxW -> C*H*W features",
    "dropout": "dropout P  zero a share P of activations while training",
    "bn": "bn  batch norm (2-d after conv, 1-d after linear)",
}
KINDS = tuple(LAYER_HELP)
ACTIVATIONS = ("relu", "gelu", "tanh", "sigmoid")
POOLS = ("maxpool", "avgpool")
CONVS = ("conv", "local")  # the same geometry and shapes; local has no weight sharing


@dataclass(frozen=True)
class Layer:
    """One layer with its defaults resolved, so equal layers compare equal."""

    kind: str
    out: int | None = None  # conv and local channels / linear features
    kernel: int | None = None  # conv, local, pools
    stride: int | None = None
    padding: int | None = None
    bias: bool = True
    p: float | None = None  # dropout rate

    def line(self) -> str:
        """The canonical text of this layer: defaults left out."""
        parts = [self.kind]
        if self.kind in CONVS:
            parts.append(str(self.out))
            if self.kernel != 3:
                parts.append(f"k{self.kernel}")
            if self.stride != 1:
                parts.append(f"s{self.stride}")
            if self.padding != self.kernel // 2:
                parts.append(f"p{self.padding}")
        elif self.kind == "linear":
            parts.append(str(self.out))
        elif self.kind in POOLS:
            parts.append(str(self.kernel))
            if self.stride != self.kernel:
                parts.append(f"s{self.stride}")
            if self.padding:
                parts.append(f"p{self.padding}")
        elif self.kind == "dropout":
            parts.append(f"{self.p:g}")
        if self.kind in (*CONVS, "linear") and not self.bias:
            parts.append("nobias")
        return " ".join(parts)


@dataclass(frozen=True)
class Spec:
    """An architecture: a name, the input shape (C, H, W) and the layers."""

    layers: tuple[Layer, ...] = ()
    name: str = "custom"
    input_shape: tuple[int, ...] = DEFAULT_INPUT

    def line(self) -> str:
        return format_line(self)

    # Editing returns new specs; the editor keeps the old ones for undo.
    def with_layers(self, layers: list[Layer] | tuple[Layer, ...]) -> Spec:
        return replace(self, layers=tuple(layers))

    def insert(self, index: int, layer: Layer) -> Spec:
        layers = list(self.layers)
        layers.insert(index, layer)
        return self.with_layers(layers)

    def delete(self, index: int) -> Spec:
        return self.with_layers(self.layers[:index] + self.layers[index + 1 :])

    def set(self, index: int, layer: Layer) -> Spec:
        layers = list(self.layers)
        layers[index] = layer
        return self.with_layers(layers)

    def move(self, index: int, offset: int) -> Spec:
        target = index + offset
        if not (0 <= index < len(self.layers) and 0 <= target < len(self.layers)):
            return self
        layers = list(self.layers)
        layers[index], layers[target] = layers[target], layers[index]
        return self.with_layers(layers)


@dataclass(frozen=True)
class ParseError:
    """A user-facing error: what is wrong, at which 1-based column (and line)."""

    message: str
    column: int = 1
    token: str = ""
    line: int = 1  # 0: about the whole file, not a place in it
    source: str = field(default="", compare=False)
    path: str = field(default="", compare=False)  # the spec file, when the error is in one

    def __str__(self) -> str:
        if self.path:  # FILE:LINE:COLUMN, the form editors and terminals jump to
            return (
                f"{self.path}:{self.line}:{self.column}: {self.message}"
                if self.line
                else f"{self.path}: {self.message}"
            )
        where = f"line {self.line}, column {self.column}" if self.line > 1 else f"column {self.column}"
        return f"{where}: {self.message}"


class SpecError(ValueError):
    """Raised by the `*_or_raise` helpers for callers that want an exception."""

    def __init__(self, error: ParseError) -> None:
        super().__init__(str(error))
        self.error = error


_FLAG = re.compile(r"^([ksp])(.*)$")


def _int(text: str, what: str, *, minimum: int) -> int | str:
    """An integer >= minimum, or the message saying why not."""
    if not re.fullmatch(r"[+-]?\d+", text):
        return f"{what} must be a whole number, got {text!r}"
    value = int(text)
    if value < minimum:
        return f"{what} must be at least {minimum}, got {value}"
    if value > MAX_WIDTH:
        return f"{what} {value:,} is too large (at most {MAX_WIDTH:,})"
    return value


def _bad_chars(line: str) -> tuple[int, str] | None:
    for i, ch in enumerate(line):
        if ch in "\t":
            continue
        cat = unicodedata.category(ch)
        if cat.startswith("C") or (ord(ch) > 127 and not ch.isspace()):
            return i, ch
    return None


def _layer(words: list[tuple[int, str]]) -> Layer | ParseError:
    """One layer from its (column, word) tokens."""
    col, kind = words[0]
    kind = kind.lower()
    args = words[1:]
    if kind not in LAYER_HELP:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(KINDS)})"
        return ParseError(f"unknown layer {kind!r}{hint}", col, kind)

    def err(message: str, at: tuple[int, str] | None = None) -> ParseError:
        c, tok = at if at else (col, kind)
        return ParseError(message, c, tok)

    if kind in (*CONVS, "linear", *POOLS, "dropout") and not args:
        usage = LAYER_HELP[kind].split("  ")[0]
        return err(f"{kind} needs a number: {usage}")
    if kind in (*ACTIVATIONS, "flatten", "bn") and args:
        return err(f"{kind} takes no arguments, got {args[0][1]!r}", args[0])

    if kind == "dropout":
        if len(args) > 1:
            return err(f"dropout takes one rate, got {args[1][1]!r}", args[1])
        c, tok = args[0]
        try:
            p = float(tok)
        except ValueError:
            return err(f"dropout rate must be a number in [0, 1), got {tok!r}", args[0])
        if not (0.0 <= p < 1.0) or math.isnan(p):
            return err(f"dropout rate must be in [0, 1), got {tok}", args[0])
        return Layer("dropout", p=p)

    if kind in ACTIVATIONS or kind in ("flatten", "bn"):
        return Layer(kind)

    first = args[0]
    what = {"conv": "output channels", "local": "output channels", "linear": "output features"}.get(kind, "kernel size")
    n = _int(first[1], what, minimum=1)
    if isinstance(n, str):
        return err(n, first)
    flags: dict[str, int] = {}
    where: dict[str, tuple[int, str]] = {}
    bias = True
    for at in args[1:]:
        tok = at[1].lower()
        if tok == "nobias" and kind in (*CONVS, "linear"):
            bias = False
            continue
        m = _FLAG.match(tok)
        if kind == "linear" or not m:
            allowed = "nobias" if kind == "linear" else ("kK sS pP nobias" if kind in CONVS else "sS pP")
            return err(f"unexpected {at[1]!r} after {kind} (options: {allowed})", at)
        letter, rest = m.groups()
        if letter == "k" and kind not in CONVS:
            return err(f"{kind} takes its kernel as the first number, not {at[1]!r}", at)
        if letter in flags:
            return err(f"{letter} given twice", at)
        name = {"k": "kernel size", "s": "stride", "p": "padding"}[letter]
        value = _int(rest, name, minimum=0 if letter == "p" else 1)
        if isinstance(value, str):
            return err(value, at)
        flags[letter] = value
        where[letter] = at

    if kind == "linear":
        return Layer("linear", out=n, bias=bias)
    if kind in CONVS:
        k = flags.get("k", 3)
        p = flags.get("p", k // 2)
        if p >= k:
            return err(f"padding {p} is too large for kernel {k} (at most {k - 1})", where.get("p"))
        return Layer(kind, out=n, kernel=k, stride=flags.get("s", 1), padding=p, bias=bias)
    k = n
    p = flags.get("p", 0)
    if p > k // 2:
        return err(f"padding {p} is too large for a {k}x{k} pool (at most {k // 2})", where.get("p"))
    return Layer(kind, kernel=k, stride=flags.get("s", k), padding=p)


def parse_layers(line: str) -> tuple[Layer, ...] | ParseError:
    """The layers of one line of the language, or the first error in it."""
    if len(line) > MAX_LINE_CHARS:
        return ParseError(f"line is too long ({len(line):,} characters, at most {MAX_LINE_CHARS:,})", 1)
    bad = _bad_chars(line)
    if bad:
        i, ch = bad
        return ParseError(f"unexpected character {ch!r} (U+{ord(ch):04X})", i + 1, ch, source=line)
    if not line.strip():
        return ParseError("empty architecture: type layers separated by '|', e.g. 'flatten | linear 10'", 1)
    layers: list[Layer] = []
    start = 0
    for segment in line.split("|"):
        words = [(start + m.start() + 1, m.group()) for m in re.finditer(r"\S+", segment)]
        if not words:
            last = start + len(segment) >= len(line)
            column = start if last else start + len(segment) + 1
            return ParseError("stray '|': expected a layer between separators", column, "|", source=line)
        result = _layer(words)
        if isinstance(result, ParseError):
            return replace(result, source=line)
        layers.append(result)
        start += len(segment) + 1
    return tuple(layers)


def parse_shape(text: str) -> tuple[int, ...] | ParseError:
    """`1x28x28` -> (1, 28, 28); `784` -> (784,)."""
    parts = text.strip().lower().split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        return ParseError(f"input shape must look like CxHxW (e.g. 1x28x28), got {text!r}", 1, text)
    if len(shape) not in (1, 3) or any(d < 1 for d in shape):
        return ParseError(f"input shape must be CxHxW or F with positive sizes, got {text!r}", 1, text)
    if math.prod(shape) > 50_000_000:
        return ParseError(f"input shape {text} is too large", 1, text)
    return shape


def format_shape(shape: tuple[int, ...] | None) -> str:
    """A shape as the architecture language writes it (1x28x28); `?` where it is unknown."""
    return "x".join(str(d) for d in shape) if shape else "?"


def parse_line(line: str, *, name: str = "custom", input_shape: tuple[int, ...] = DEFAULT_INPUT) -> Spec | ParseError:
    layers = parse_layers(line)
    if isinstance(layers, ParseError):
        return layers
    return Spec(layers=layers, name=name, input_shape=input_shape)


def format_line(spec: Spec) -> str:
    return " | ".join(layer.line() for layer in spec.layers)


# Spec files: '#' comments, 'name:' and 'input:' headers, then layers, one per line
# or several joined by '|'. Line continuations are just more layers.
def format_file(spec: Spec) -> str:
    body = "\n".join(layer.line() for layer in spec.layers)
    return f"# cnn-tui spec\nname: {spec.name}\ninput: {format_shape(spec.input_shape)}\n{body}\n"


def parse_file(text: str, *, default_name: str = "custom") -> Spec | ParseError:
    """A spec file's text -> Spec, or an error naming the line and column."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        return ParseError(f"file is too large for a spec (over {MAX_FILE_BYTES:,} bytes)", 1)
    name, shape = default_name, DEFAULT_INPUT
    body: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].rstrip()
        if not content.strip():
            continue
        key, sep, value = content.partition(":")
        if sep and key.strip().lower() in ("name", "input"):
            if key.strip().lower() == "name":
                name = value.strip() or default_name
            else:
                parsed = parse_shape(value)
                if isinstance(parsed, ParseError):
                    return replace(parsed, line=number, column=content.index(":") + 2)
                shape = parsed
            continue
        body.append((number, content))
    if not body:
        return ParseError("no layers in file (expected lines like 'conv 8 s2 | relu')", 1)
    layers: list[Layer] = []
    for number, content in body:
        parsed_layers = parse_layers(content)
        if isinstance(parsed_layers, ParseError):
            return replace(parsed_layers, line=number)
        layers.extend(parsed_layers)
    return Spec(layers=tuple(layers), name=name, input_shape=shape)


def or_raise(value: Spec | ParseError) -> Spec:
    if isinstance(value, ParseError):
        raise SpecError(value)
    return value
