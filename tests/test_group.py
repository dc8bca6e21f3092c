"""A group's members against their solo runs, and the group's events, control and memory split."""

from __future__ import annotations

import pytest
import torch

from tui_cnn.architecture.init import initial_model
from tui_cnn.architecture.presets import preset, resolve
from tui_cnn.architecture.spec import Spec, or_raise
from tui_cnn.experiments import group as group_module
from tui_cnn.experiments import group_conv
from tui_cnn.experiments.group import GroupTrainer, dropout_generator, dropout_mask, split, stack
from tui_cnn.training import optimizers
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Ended, Event
from tui_cnn.training.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

CPU = {"device": "cpu", "weights_every": 0.0, "epochs": 2, "batch_size": 32}
POOL_DROPOUT = "conv 8 | relu | maxpool 2 | dropout {p} | flatten | linear 10"


def configs(*members: tuple[int, float], **changes) -> list[TrainConfig]:
    return [TrainConfig(**{**CPU, **changes, "seed": seed, "lr": lr}) for seed, lr in members]


def run_group(spec: Spec, data: Dataset, members: list[TrainConfig], on_event=None) -> tuple[list[Ended], list]:
    events: list[tuple[int, Event]] = []

    def record(member: int, event: Event) -> None:
        events.append((member, event))
        if on_event:
            on_event(member, event)

    return GroupTrainer(spec, data, members, record).run(), events


def assert_same_weights(solo: dict[str, torch.Tensor], member: dict[str, torch.Tensor]) -> None:
    """Each tensor the same to 1e-5 relative (in norm): rounding apart, which Adam amplifies in weights that
    barely get a gradient (one weight of a dead unit can differ by 1e-3 of itself)."""
    assert solo.keys() == member.keys()
    for name, expected in solo.items():
        got = member[name]
        assert got.shape == expected.shape, name
        if not expected.is_floating_point():
            assert torch.equal(got, expected), name
            continue
        error = float((got - expected).norm() / expected.norm().clamp_min(1e-30))
        assert error < 1e-5, f"{name}: relative error {error:.2e}"


@pytest.mark.parametrize(
    "arch", ["simple_cnn", "mlp", "local_cnn", POOL_DROPOUT.format(p=0), POOL_DROPOUT.format(p=0.2)]
)
def test_each_member_ends_with_its_solo_runs_weights(tiny: Dataset, arch: str) -> None:
    spec = or_raise(resolve(arch))
    members = configs((0, 3e-3), (1, 3e-3), (2, 1e-3))  # seeds and a learning rate apart
    ended, _ = run_group(spec, tiny, members)
    for config, member in zip(members, ended, strict=True):
        solo = Trainer(spec, tiny, config).run()
        assert member.status == solo.status == "finished"
        assert member.final_val_acc == pytest.approx(solo.final_val_acc)
        assert member.train_loss == pytest.approx(solo.train_loss, rel=1e-5)
        assert_same_weights(solo.state_dict, member.state_dict)


@pytest.mark.parametrize("lrs", [(3e-3, 3e-3), (3e-3, 1e-3)], ids=["one lr", "two lrs"])
def test_adam_members_match_their_solo_runs_at_one_or_more_lrs(tiny: Dataset, lrs: tuple[float, float]) -> None:
    spec = preset("simple_cnn")
    members = configs((3, lrs[0]), (4, lrs[1]))
    ended, _ = run_group(spec, tiny, members)
    for config, member in zip(members, ended, strict=True):
        assert_same_weights(Trainer(spec, tiny, config).run().state_dict, member.state_dict)


@pytest.mark.parametrize("lrs", [(0.05, 0.05), (0.05, 0.02)], ids=["one lr", "two lrs"])
def test_sgd_members_match_their_solo_runs(tiny: Dataset, lrs: tuple[float, float]) -> None:
    spec = preset("simple_cnn")
    members = configs((3, lrs[0]), (4, lrs[1]), optimizer="sgd")
    ended, _ = run_group(spec, tiny, members)
    for config, member in zip(members, ended, strict=True):
        assert_same_weights(Trainer(spec, tiny, config).run().state_dict, member.state_dict)


def test_each_members_dropout_mask_is_its_solo_runs_draw() -> None:
    spec = or_raise(resolve(POOL_DROPOUT.format(p=0.5)))
    seeds = (0, 1)
    model = stack([initial_model(spec, s) for s in seeds], [dropout_generator(s) for s in seeds])
    dropout = model[3]
    x = torch.ones(4, 2 * 8, 14, 14)  # a batch of 4 after the pool: members' 8 channels side by side
    out = dropout(x)
    for k, seed in enumerate(seeds):
        expected = dropout_mask(torch.empty(4, 8, 14, 14), 0.5, dropout_generator(seed))
        assert torch.equal(out[:, 8 * k : 8 * (k + 1)], expected)
    assert not torch.equal(out[:, :8], out[:, 8:])  # members draw their own masks
    dropout.eval()
    assert dropout(x) is x


def test_dropout_groups_are_reproducible_and_members_differ(tiny: Dataset) -> None:
    spec = or_raise(resolve(POOL_DROPOUT.format(p=0.2)))
    first, _ = run_group(spec, tiny, configs((0, 3e-3), (1, 3e-3)))
    again, _ = run_group(spec, tiny, configs((0, 3e-3), (1, 3e-3)))
    for a, b in zip(first, again, strict=True):
        assert all(torch.equal(a.state_dict[k], b.state_dict[k]) for k in a.state_dict)
    alone, _ = run_group(spec, tiny, configs((0, 3e-3)))
    paired, _ = run_group(spec, tiny, configs((0, 3e-3), (5, 3e-3)))
    # Member 0's masks do not depend on who else is in the group (rounding may: other kernel shapes).
    assert_same_weights(alone[0].state_dict, paired[0].state_dict)
    no_dropout, _ = run_group(or_raise(resolve(POOL_DROPOUT.format(p=0))), tiny, configs((0, 3e-3)))
    assert not torch.allclose(no_dropout[0].state_dict["5.weight"], alone[0].state_dict["5.weight"])


def test_a_diverging_member_ends_alone_and_the_others_go_on(tiny: Dataset) -> None:
    spec = preset("mlp")
    members = configs((0, 0.05), (1, 1e6), optimizer="sgd")
    ended, events = run_group(spec, tiny, members)
    assert ended[1].status == "diverged"
    assert "try a lower learning rate (now 1e+06)" in ended[1].message
    assert ended[0].status == "finished" and ended[0].epochs_done == 2
    assert_same_weights(Trainer(spec, tiny, members[0]).run().state_dict, ended[0].state_dict)
    # The diverged member's Ended comes when it diverged, before the other's epochs end.
    order = [(m, type(e).__name__) for m, e in events]
    assert order.index((1, "Ended")) < order.index((0, "EpochEnd"))


def test_a_member_diverges_by_the_solo_rule_on_a_huge_finite_loss(tiny: Dataset) -> None:
    """A mean loss of ~1e7 is finite but blown up: the member ends diverged as its solo run does, at the same step."""
    spec = preset("mlp")
    members = configs((0, 0.05), (1, 30.0), optimizer="sgd")
    ended, _ = run_group(spec, tiny, members)
    solo = Trainer(spec, tiny, members[1]).run()
    assert solo.status == ended[1].status == "diverged"
    assert ended[1].message == solo.message and "loss became" in solo.message
    assert ended[0].status == "finished" and ended[0].epochs_done == 2


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_a_frozen_member_leaves_the_step_and_the_others_go_on_as_alone(name: str) -> None:
    """Stepping all members at once, then without a frozen one, moves the others exactly as alone."""
    generator = torch.Generator().manual_seed(0)
    grads = [torch.randn(2, 3, 4, generator=generator) for _ in range(6)]
    stacked = torch.zeros(2, 3, 4, requires_grad=True)
    grouped = group_module._GroupOptimizer(name, [stacked], [1e-2, 1e-2], 0.1)
    alone = torch.zeros(3, 4, requires_grad=True)
    solo = optimizers.make(name, [alone], torch.device("cpu"), 1e-2, 0.1)
    for i, grad in enumerate(grads):
        if i == 3:
            grouped.freeze(1)
            frozen = stacked[1].detach().clone()
        stacked.grad, alone.grad = grad.clone(), grad[0].clone()
        grouped.step()
        solo.step()
    assert torch.equal(stacked[0].detach(), alone.detach())
    assert torch.equal(stacked[1].detach(), frozen)


def test_every_member_gets_its_own_events(tiny: Dataset) -> None:
    ended, events = run_group(preset("mlp"), tiny, configs((0, 3e-3), (1, 3e-3), (2, 3e-3)))
    for k in range(3):
        kinds = [type(e).__name__ for m, e in events if m == k]
        assert kinds[0] == "Started" and kinds[-1] == "Ended" and kinds.count("Ended") == 1
        assert kinds.count("EpochEnd") == 2 and "Weights" in kinds
        started = next(e for m, e in events if m == k)
        assert started.config["seed"] == k and started.params == 39_760
        assert [e for m, e in events if m == k][-1] is ended[k]


def test_stop_ends_every_member_interrupted(tiny: Dataset) -> None:
    trainer: GroupTrainer | None = None
    events: list[tuple[int, Event]] = []

    def on_event(member: int, event: Event) -> None:
        events.append((member, event))
        if type(event).__name__ == "Step":
            trainer.stop()

    trainer = GroupTrainer(preset("mlp"), tiny, configs((0, 3e-3), (1, 3e-3), report_every=0.0), on_event)
    ended = trainer.run()
    assert [e.status for e in ended] == ["interrupted", "interrupted"]
    assert all(e.state_dict is not None for e in ended)
    assert sorted(m for m, e in events if isinstance(e, Ended)) == [0, 1]


def test_a_group_that_cannot_start_fails_every_member_without_started(tiny: Dataset) -> None:
    ended, events = run_group(preset("mlp"), tiny, configs((0, 3e-3), (1, -1.0)))
    assert [e.status for e in ended] == ["failed", "failed"]
    assert "learning rate" in ended[0].message
    assert [type(e).__name__ for _, e in events] == ["Ended", "Ended"]


def test_members_may_differ_only_in_seed_and_lr(tiny: Dataset) -> None:
    members = [TrainConfig(**CPU), TrainConfig(**{**CPU, "batch_size": 64})]
    with pytest.raises(ValueError, match=r"differ only in seed and lr, not batch_size \(32 vs 64\)"):
        GroupTrainer(preset("mlp"), tiny, members)
    with pytest.raises(ValueError, match="at least one member"):
        GroupTrainer(preset("mlp"), tiny, [])


def test_split_caps_groups_by_the_memory_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = preset("simple_cnn")
    members = configs(*[(s, 3e-3) for s in range(10)])
    each = group_module.member_bytes(spec, 64)
    monkeypatch.setattr(group_module, "available_bytes", lambda device: 4 * each + 1)
    groups, notice = split(members, spec, 64, "cpu")
    assert [len(g) for g in groups] == [4, 4, 2]
    assert [c.seed for g in groups for c in g] == list(range(10))
    assert notice and "3 groups of up to 4" in notice
    monkeypatch.setattr(group_module, "available_bytes", lambda device: 10 * each)
    assert split(members, spec, 64, "cpu") == ([members], None)


def test_the_memory_estimate_grows_with_batch_and_activations() -> None:
    spec = preset("simple_cnn")
    assert group_module.member_bytes(spec, 128) > group_module.member_bytes(spec, 64)
    wide = or_raise(resolve("conv 64 | relu | flatten | linear 10"))
    assert group_module.member_bytes(wide, 64) > group_module.member_bytes(spec, 64)
    assert group_module.available_bytes("cpu") > 0


def test_stacked_state_has_the_solo_models_keys() -> None:
    spec = preset("bn_cnn")
    solos = [initial_model(spec, s) for s in (0, 1)]
    model = stack(solos, [dropout_generator(s) for s in (0, 1)])
    for k, solo in enumerate(solos):
        state = group_module.member_state(model, k)
        assert {n: t.shape for n, t in state.items()} == {n: t.shape for n, t in solo.state_dict().items()}
        assert all(torch.equal(state[n], t) for n, t in solo.state_dict().items())


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_members_match_their_solo_runs_when_the_private_kernels_are_broken(
    tiny: Dataset, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private fused kernel that raises is found out once; the group steps with public ops, as the solo runs do."""

    def broken(*args, **kwargs) -> None:
        raise RuntimeError("no such kernel on this build")

    monkeypatch.setattr(optimizers, "_choices", {})
    monkeypatch.setattr(torch, "_fused_adamw_" if name == "adamw" else f"_fused_{name}_", broken)
    spec = preset("simple_cnn")
    lr = 0.05 if name == "sgd" else 3e-3
    members = configs((0, lr), (1, lr / 2), optimizer=name, weight_decay=0.01)
    ended, _ = run_group(spec, tiny, members)
    for config, member in zip(members, ended, strict=True):
        solo = Trainer(spec, tiny, config).run()
        assert member.status == solo.status == "finished"
        assert_same_weights(solo.state_dict, member.state_dict)


@pytest.mark.parametrize("mode", group_conv.MODES)
@pytest.mark.parametrize(
    ("shape", "out", "k", "stride", "padding"),
    [((1, 28, 28), 4, 3, 2, 1), ((3, 9, 7), 5, 3, 1, 0), ((4, 6, 6), 2, 2, 2, 1), ((16, 2, 2), 10, 3, 2, 1)],
)
def test_each_conv_mode_computes_each_members_conv(
    mode: str, shape: tuple[int, int, int], out: int, k: int, stride: int, padding: int
) -> None:
    generator = torch.Generator().manual_seed(1)
    n, (c, h, w) = 3, shape
    x = torch.randn(5, n * c, h, w, generator=generator)
    weight, bias = torch.randn(n, out, c, k, k, generator=generator), torch.randn(n, out, generator=generator)
    got = group_conv.conv(mode, x, weight, bias, (stride, stride), (padding, padding))
    for member in range(n):
        alone = torch.nn.functional.conv2d(
            x[:, member * c : (member + 1) * c], weight[member], bias[member], stride, padding
        )
        assert torch.allclose(got[:, member * out : (member + 1) * out], alone, atol=1e-5)


@pytest.mark.parametrize("mode", group_conv.MODES)
def test_members_match_their_solo_runs_in_every_conv_mode(
    tiny: Dataset, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen: list[str] = []
    monkeypatch.setattr(group_conv, "fastest", lambda *args: chosen.append(mode) or mode)
    spec = or_raise(resolve(POOL_DROPOUT.format(p=0.2)))
    members = configs((0, 3e-3), (1, 1e-3))
    ended, _ = run_group(spec, tiny, members)
    assert chosen == [mode]  # the one conv was tuned
    for config, member in zip(members, ended, strict=True):
        assert_same_weights(Trainer(spec, tiny, config).run().state_dict, member.state_dict)


def test_tuning_picks_a_mode_per_geometry_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_conv, "_fastest", {})
    timed: list[str] = []
    real = group_conv._seconds
    monkeypatch.setattr(group_conv, "_seconds", lambda step: timed.append("x") or real(step))
    args = ((8, 3, 6, 6), (3, 4, 1, 3, 3), True, (2, 2), (1, 1), False, torch.device("cpu"))
    assert group_conv.fastest(*args) in group_conv.MODES
    assert group_conv.fastest(*args) == group_conv.fastest(*args)
    assert len(timed) == len(group_conv.MODES)  # timed once, then cached


TWO_CONVS = "conv 4 | relu | conv 6 s2 | relu | flatten | linear 10"


@pytest.mark.parametrize("channels_last", [True, False])
def test_tuning_times_each_conv_on_the_layout_the_one_before_leaves(
    channels_last: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[bool, tuple[str, ...]]] = []

    def fastest(*args) -> str:
        *_, channels_last_input, modes = args
        seen.append((channels_last_input, modes))
        return modes[1]  # channels_last where offered, else members

    monkeypatch.setattr(group_conv, "fastest", fastest)
    spec = or_raise(resolve(TWO_CONVS))
    model = stack([initial_model(spec, s) for s in (0, 1)], [dropout_generator(s) for s in (0, 1)])
    group_module.tune(model, torch.randn(3, 2, 28, 28), channels_last)
    if channels_last:  # the first conv's choice lays out the second's input
        assert seen == [(False, group_conv.MODES), (True, group_conv.MODES)]
    else:  # batch norm, or a device the solo runs keep contiguous: never offered
        assert [modes for _, modes in seen] == [("grouped", "members", "unfold")] * 2
        assert [cl for cl, _ in seen] == [False, False]


def test_channels_last_convs_hand_on_a_channels_last_output() -> None:
    x = torch.randn(2, 6, 7, 7)
    weight, bias = torch.randn(3, 4, 2, 3, 3), torch.randn(3, 4)
    out = group_conv.conv("channels_last", x, weight, bias, (2, 2), (1, 1))
    assert group_conv.is_channels_last(out)
    assert not group_conv.is_channels_last(group_conv.conv("grouped", x, weight, bias, (2, 2), (1, 1)))
    assert not group_conv.is_channels_last(torch.randn(2, 6, 1, 1).contiguous(memory_format=torch.channels_last))


def test_predictions_are_the_first_highest_class_as_argmax_gives() -> None:
    scores = torch.tensor([[[1.0, 5.0], [3.0, 5.0], [3.0, 0.0]]])  # (1 member, 3 classes, 2 samples): ties
    assert group_module.predictions(scores).tolist() == [[1, 0]] == scores.argmax(1).tolist()
    rand = torch.randn(4, 10, 33)
    assert torch.equal(group_module.predictions(rand), rand.argmax(1))


def test_classes_first_scores_give_each_members_loss() -> None:
    logits, y = torch.randn(3, 5, 10), torch.randint(0, 10, (3, 5))
    scores = group_module.classes_first(logits)
    assert scores.shape == (3, 10, 5) and scores.is_contiguous()
    got = torch.nn.functional.cross_entropy(scores, y, reduction="none")
    for k in range(3):
        assert torch.allclose(got[k], torch.nn.functional.cross_entropy(logits[k], y[k], reduction="none"))


@pytest.mark.parametrize("flat", [True, False])
def test_a_batch_gathered_into_the_reused_buffer_is_the_fresh_one(flat: bool) -> None:
    x, y = torch.randn(20, 2, 5, 5), torch.arange(20)
    index = torch.randperm(20)[:12].view(3, 4)
    buffer = torch.full((3 * 6, 50), float("nan"))  # room for a full batch of 6; this one is 4
    fresh, labels = group_module._gather(x, y, index, flat)
    reused, reused_labels = group_module._gather(x, y, index, flat, buffer)
    assert torch.equal(fresh, reused) and torch.equal(labels, reused_labels)
    assert reused.data_ptr() == buffer.data_ptr()
    member = 1
    expected = x[index[member]]
    got = fresh[member] if flat else fresh[:, 2 * member : 2 * member + 2]
    assert torch.equal(got, expected)


def test_a_stacked_linear_layers_gradient_arrives_in_its_weights_layout() -> None:
    """No copy in AccumulateGrad: from x W^T the gradient came transposed, and was copied every step."""
    linear = group_module._Linear([torch.nn.Linear(7, 3) for _ in range(4)])
    arrived: list[bool] = []
    linear.weight.register_hook(lambda grad: arrived.append(grad.stride() == linear.weight.stride()))
    x = torch.randn(4, 5, 7)
    out = linear(x)
    out.sum().backward()
    assert arrived == [True]
    for k in range(4):
        assert torch.allclose(out[k], x[k] @ linear.weight[k].T + linear.bias[k], atol=1e-6)
