"""Property-based checks: any spec gives torch's own budget or a clean error, never a crash."""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.spec import ParseError, Spec, format_line, parse_line

small = st.integers(min_value=1, max_value=6)
layer_text = st.one_of(
    st.builds(
        lambda out, k, s, p, nobias: f"conv {out} k{k} s{s} p{min(p, k - 1)}" + (" nobias" if nobias else ""),
        small,
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(0, 3),
        st.booleans(),
    ),
    st.builds(lambda out, nobias: f"linear {out}" + (" nobias" if nobias else ""), small, st.booleans()),
    st.builds(lambda kind, k, s: f"{kind} {k} s{s}", st.sampled_from(["maxpool", "avgpool"]), st.integers(1, 3), small),
    st.sampled_from(["relu", "gelu", "tanh", "sigmoid", "flatten", "bn", "dropout 0.5"]),
)
lines = st.lists(layer_text, min_size=1, max_size=7).map(" | ".join)
shapes = st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 12))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=lines, shape=shapes)
def test_budget_equals_torch_or_names_a_layer(line: str, shape: tuple[int, int, int]) -> None:
    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    budget = budget_of(spec)
    if not budget.ok:
        assert budget.error.error and 0 <= budget.error.index < len(spec.layers)
        return
    model = build_model(spec).eval()
    assert budget.total_params == sum(p.numel() for p in model.parameters())
    out = model(torch.zeros(2, *shape))
    assert tuple(out.shape[1:]) == budget.out_shape


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_parses_or_errors_cleanly(text: str) -> None:
    result = parse_line(text)
    if isinstance(result, ParseError):
        assert result.message and 1 <= result.column <= max(len(text), 1)
    else:
        assert parse_line(format_line(result)) == result


@settings(max_examples=200, deadline=None)
@given(words=st.lists(st.sampled_from(["conv", "linear", "relu", "|", "4", "-1", "0", "s2", "k9", "p7", "x", "1e9"])))
def test_token_soup_parses_or_errors_cleanly(words: list[str]) -> None:
    text = " ".join(words)
    result = parse_line(text)
    if isinstance(result, ParseError):
        assert 1 <= result.column <= max(len(text), 1)
    else:
        assert isinstance(budget_of(result).ok, bool)


wide = st.one_of(small, st.integers(1, 1_000_000))  # up to the language's MAX_WIDTH: most too big to build
big_layer_text = st.one_of(
    st.builds(lambda out, k, s: f"conv {out} k{k} s{s}", wide, st.integers(1, 9), st.integers(1, 4)),
    st.builds(lambda out: f"linear {out}", wide),
    st.builds(lambda k: f"maxpool {k}", st.integers(1, 4)),
    st.sampled_from(["relu", "flatten", "bn", "dropout 0.1"]),
)


big_lines = st.lists(big_layer_text, min_size=1, max_size=6).map(" | ".join)
big_shapes = st.tuples(small, st.integers(1, 64), st.integers(1, 64))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(line=big_lines, shape=big_shapes)
def test_huge_specs_give_torchs_own_count_or_a_clean_error_without_allocating(
    line: str, shape: tuple[int, int, int]
) -> None:
    """Widths up to a million: the model is built on the meta device (shapes, no memory) to get torch's count."""
    from tui_cnn.architecture.budget import MAX_ACTIVATIONS, MAX_PARAMS
    from tui_cnn.architecture.spec import SpecError

    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    budget = budget_of(spec)
    if not budget.ok:
        assert budget.error.error and 0 <= budget.error.index < len(spec.layers)
        try:
            build_model(spec)
        except SpecError as exc:
            assert f"layer {budget.error.index}" in str(exc)
        else:
            raise AssertionError("an impossible spec was built")
        return
    assert budget.total_params <= MAX_PARAMS and all(r.activations <= MAX_ACTIVATIONS for r in budget.rows)
    with torch.device("meta"):
        model = build_model(spec).eval()
        out = model(torch.zeros(2, *shape))
    assert budget.total_params == sum(p.numel() for p in model.parameters())
    assert tuple(out.shape[1:]) == budget.out_shape
