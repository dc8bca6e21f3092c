"""The architecture language: every layer, the defaults, round trips and every kind of error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_cnn.architecture.presets import PRESETS, preset, resolve
from tui_cnn.architecture.spec import (
    KINDS,
    Layer,
    ParseError,
    Spec,
    format_file,
    format_line,
    parse_file,
    parse_line,
    parse_shape,
)
from tui_cnn.architecture.specfile import read_spec, write_spec


def layers(line: str) -> tuple[Layer, ...]:
    spec = parse_line(line)
    assert isinstance(spec, Spec), spec
    return spec.layers


def error(line: str) -> ParseError:
    result = parse_line(line)
    assert isinstance(result, ParseError), f"{line!r} parsed as {result}"
    return result


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("conv 8", Layer("conv", out=8, kernel=3, stride=1, padding=1)),
        ("conv 8 k5", Layer("conv", out=8, kernel=5, stride=1, padding=2)),
        ("conv 8 k5 s2 p0 nobias", Layer("conv", out=8, kernel=5, stride=2, padding=0, bias=False)),
        ("conv 4 s2", Layer("conv", out=4, kernel=3, stride=2, padding=1)),
        ("linear 10", Layer("linear", out=10)),
        ("linear 10 nobias", Layer("linear", out=10, bias=False)),
        ("maxpool 2", Layer("maxpool", kernel=2, stride=2, padding=0)),
        ("avgpool 3 s1 p1", Layer("avgpool", kernel=3, stride=1, padding=1)),
        ("dropout 0.25", Layer("dropout", p=0.25)),
        ("relu", Layer("relu")),
        ("gelu", Layer("gelu")),
        ("tanh", Layer("tanh")),
        ("sigmoid", Layer("sigmoid")),
        ("flatten", Layer("flatten")),
        ("bn", Layer("bn")),
        ("CONV 8", Layer("conv", out=8, kernel=3, stride=1, padding=1)),
    ],
)
def test_each_layer_and_its_defaults(line: str, expected: Layer) -> None:
    assert layers(line) == (expected,)


def test_every_kind_is_covered_by_the_language() -> None:
    line = "conv 4 | local 4 | bn | relu | gelu | tanh | sigmoid | maxpool 2 | avgpool 2 | dropout 0.1 | flatten"
    line += " | linear 10"
    assert {layer.kind for layer in layers(line)} == set(KINDS)


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_round_trip(name: str) -> None:
    spec = preset(name)
    assert parse_line(format_line(spec), name=name) == spec
    assert parse_file(format_file(spec)) == spec


def test_canonical_line_leaves_defaults_out() -> None:
    spec = parse_line("conv 4 k3 s2 p1 | relu | maxpool 2 s2 p0 | flatten | linear 10")
    assert format_line(spec) == "conv 4 s2 | relu | maxpool 2 | flatten | linear 10"


def test_whitespace_is_free() -> None:
    assert layers("  conv 4\ts2|relu  |flatten ") == layers("conv 4 s2 | relu | flatten")


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("conv2d 4", 1, "did you mean 'conv'"),
        ("relu | lnear 10", 8, "did you mean 'linear'"),
        ("wibble", 1, "unknown layer"),
        ("conv", 1, "needs a number"),
        ("linear", 1, "needs a number"),
        ("conv -3", 6, "at least 1"),
        ("conv 0", 6, "at least 1"),
        ("conv eight", 6, "whole number"),
        ("conv 4.5", 6, "whole number"),
        ("conv 4 s0", 8, "stride must be at least 1"),
        ("conv 4 kx", 8, "kernel size must be a whole number"),
        ("conv 4 s2 s2", 11, "given twice"),
        ("conv 4 q2", 8, "unexpected 'q2'"),
        ("linear 10 k3", 11, "unexpected 'k3'"),
        ("maxpool 2 k3", 11, "first number"),
        ("relu 3", 6, "takes no arguments"),
        ("flatten 1", 9, "takes no arguments"),
        ("dropout", 1, "needs a number"),
        ("dropout 1", 9, "[0, 1)"),
        ("dropout -0.1", 9, "[0, 1)"),
        ("dropout x", 9, "must be a number"),
        ("dropout nan", 9, "[0, 1)"),
        ("dropout 0.1 0.2", 13, "one rate"),
        ("conv 4 k3 p3", 11, "padding 3 is too large for kernel 3"),
        ("maxpool 2 p2", 11, "too large for a 2x2 pool"),
        ("conv 4 | | relu", 10, "stray '|'"),
        ("| relu", 1, "stray '|'"),
        ("relu |", 6, "stray '|'"),
        ("", 1, "empty architecture"),
        ("   ", 1, "empty architecture"),
        ("conv 4\x1b[31m", 7, "unexpected character"),
        ("conv 4 | rel\u00fc", 13, "U+00FC"),
        ("conv 4\u200b", 7, "U+200B"),
        ("conv 99999999", 6, "too large"),
    ],
)
def test_errors_name_the_token_and_column(line: str, column: int, words: str) -> None:
    err = error(line)
    assert words in err.message
    assert err.column == column
    assert str(err).startswith(f"column {column}: ")


def test_too_long_a_line_is_refused_without_parsing() -> None:
    assert "too long" in error("relu | " * 5000).message


def test_shapes() -> None:
    assert parse_shape("1x28x28") == (1, 28, 28)
    assert parse_shape("784") == (784,)
    for bad in ("1x28", "0x28x28", "axbxc", "", "1x-2x3"):
        assert isinstance(parse_shape(bad), ParseError), bad


def test_spec_file_round_trip(tmp_path: Path) -> None:
    spec = Spec(layers=preset("lenet5").layers, name="lenet", input_shape=(1, 32, 32))
    path = tmp_path / "lenet.spec"
    write_spec(path, spec)
    assert read_spec(path) == spec
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_spec_file_allows_comments_and_one_layer_a_line() -> None:
    text = "# my net\nname: tiny\ninput: 1x8x8\n\nconv 4 s2   # downsample\nrelu\nflatten | linear 10\n"
    spec = parse_file(text)
    assert spec == Spec(layers=layers("conv 4 s2 | relu | flatten | linear 10"), name="tiny", input_shape=(1, 8, 8))


def test_spec_file_errors_name_the_line() -> None:
    err = parse_file("name: x\ninput: 1x28x28\nconv 4\nrelu 2\n")
    assert isinstance(err, ParseError)
    assert (err.line, err.column) == (4, 6)
    assert str(err).startswith("line 4, column 6:")
    assert isinstance(parse_file("name: x\ninput: big\nrelu"), ParseError)
    assert "no layers" in parse_file("# nothing\n").message


def test_files_that_are_not_specs(tmp_path: Path) -> None:
    binary = tmp_path / "model.pt"
    binary.write_bytes(b"\x80\x04\x95PK\x03\x04\xff\xfe")
    assert "not a text spec" in read_spec(binary).message
    prose = tmp_path / "notes.txt"
    prose.write_text("Dear diary, today I trained a network.\n")
    assert "unknown layer 'dear'" in read_spec(prose).message
    huge = tmp_path / "huge.spec"
    huge.write_text("relu\n" * 50_000)
    assert "too large" in read_spec(huge).message
    assert "cannot read" in read_spec(tmp_path / "missing.spec").message


def test_resolve_takes_presets_files_and_lines(tmp_path: Path) -> None:
    assert resolve("mlp") == preset("mlp")
    path = tmp_path / "net.spec"
    write_spec(path, preset("simple_cnn"))
    assert resolve(str(path)).layers == preset("simple_cnn").layers
    assert resolve("flatten | linear 10").layers == layers("flatten | linear 10")
    assert "no such spec file" in resolve(str(tmp_path / "nope.spec")).message
    assert "preset" in resolve("mpl").message


def test_editing_makes_new_specs() -> None:
    spec = preset("mlp")
    relu = Layer("relu")
    assert spec.insert(0, relu).layers[0] == relu
    assert spec.delete(0).layers == spec.layers[1:]
    assert spec.move(1, 1).layers[1:3] == (spec.layers[2], spec.layers[1])
    assert spec.move(0, -1) is spec  # out of range: unchanged
    assert spec.set(3, Layer("linear", out=5)).layers[3].out == 5
    assert spec == preset("mlp")  # the original is untouched


def test_file_errors_read_as_file_line_column(tmp_path) -> None:
    """FILE:LINE:COLUMN, so an editor or terminal can jump to the place; whole-file errors name only the file."""
    path = tmp_path / "net.spec"
    path.write_text("name: net\nconv 4\nconv 4 | lnear 10\n")
    assert str(read_spec(path)) == f"{path}:3:10: unknown layer 'lnear' (did you mean 'linear'?)"
    missing = tmp_path / "missing.spec"
    assert str(read_spec(missing)) == f"{missing}: cannot read it: No such file or directory"
