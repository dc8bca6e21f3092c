"""Named architectures: the seed's reference pair first, the ladder's rungs between them, then a few classics."""

from __future__ import annotations

import difflib

from .spec import KINDS, ParseError, Spec, or_raise, parse_line

# name -> (line, one-line description). The first two are the project's question.
PRESETS: dict[str, tuple[str, str]] = {
    "mlp": ("flatten | linear 50 | relu | linear 10", "the seed's MLP: 784-50-10, 39,760 parameters"),
    "simple_cnn": (
        "conv 4 s2 | relu | conv 8 s2 | relu | conv 16 s2 | relu | conv 16 s2 | relu | conv 10 s2 | flatten",
        "the seed's CNN: five stride-2 3x3 convs, 5,274 parameters",
    ),
    # The ladder: simple_cnn's layer sizes with neither locality nor sharing, then locality alone.
    "dense_cnn": (
        "flatten | linear 784 | relu | linear 392 | relu | linear 256 | relu | linear 64 | relu | linear 10",
        "simple_cnn's sizes fully connected (784-784-392-256-64-10): no locality, no sharing",
    ),
    "local_cnn": (
        "local 4 s2 | relu | local 8 s2 | relu | local 16 s2 | relu | local 16 s2 | relu | local 10 s2 | flatten",
        "simple_cnn with a kernel of its own at every position: locality, no sharing",
    ),
    "lenet5": (
        "conv 6 k5 p2 | relu | maxpool 2 | conv 16 k5 p0 | relu | maxpool 2 | flatten"
        " | linear 120 | relu | linear 84 | relu | linear 10",
        "LeCun et al. 1998, with ReLU and max pooling",
    ),
    "pool_cnn": (
        "conv 8 | relu | maxpool 2 | conv 16 | relu | maxpool 2 | flatten | linear 10",
        "two same-padded convs with pooling, one linear head",
    ),
    "bn_cnn": (
        "conv 8 s2 | bn | relu | conv 16 s2 | bn | relu | conv 32 s2 | bn | relu | conv 10 k4 p0 | flatten",
        "stride-2 convs with batch norm",
    ),
    "deep_mlp": (
        "flatten | linear 256 | relu | dropout 0.2 | linear 128 | relu | linear 10",
        "a wider two-hidden-layer MLP with dropout",
    ),
    "linear": ("flatten | linear 10", "multinomial logistic regression: the floor"),
}


def preset(name: str) -> Spec:
    line, _ = PRESETS[name]
    return or_raise(parse_line(line, name=name))


def resolve(arch: str) -> Spec | ParseError:
    """A preset name, a spec file path, or an inline line -> Spec (or the error)."""
    from pathlib import Path

    from .specfile import read_spec

    text = arch.strip()
    if text in PRESETS:
        return preset(text)
    if "|" not in text and text:
        path = Path(text)
        if path.is_file():
            return read_spec(path)
        if "/" in text or path.suffix in (".spec", ".txt", ".cnn"):
            return ParseError("no such spec file", line=0, path=text)
        if " " not in text and text.lower() not in KINDS:
            close = difflib.get_close_matches(text, PRESETS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            return ParseError(f"unknown preset, file or layer {text!r} ({hint}presets: {', '.join(PRESETS)})", 1, text)
    return parse_line(arch)
