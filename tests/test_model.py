"""The CRNN of Table 3: structure, shapes, determinism."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from sedlib.model import CRNN, count_parameters


def expected_parameter_count(
    n_classes: int, n_mels: int = 64, ch: int = 128, gru: int = 32, fc: int = 32
) -> int:
    conv = (1 * ch * 9 + ch) + 2 * (ch * ch * 9 + ch)
    batch_norm = 3 * 2 * ch
    gru_in = ch * 1  # 64 bands pooled by 8*4*2 down to 1
    bigru = 2 * 3 * (gru * gru_in + gru * gru + 2 * gru)
    dense = 2 * gru * fc + fc
    out = fc * n_classes + n_classes
    return conv + batch_norm + bigru + dense + out


def test_table3_structure():
    model = CRNN(n_classes=25)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert [c.out_channels for c in convs] == [128, 128, 128]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert [p.kernel_size for p in pools] == [(1, 8), (1, 4), (1, 2)]  # (time, frequency)
    grus = [m for m in model.modules() if isinstance(m, nn.GRU)]
    assert (
        len(grus) == 1
        and grus[0].bidirectional
        and grus[0].hidden_size == 32
        and grus[0].num_layers == 1
    )
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64, 32), (32, 25)]
    assert count_parameters(model) == expected_parameter_count(25) == 331_225


@pytest.mark.parametrize("frames", [500, 137, 1])
def test_time_resolution_is_kept(frames):
    model = CRNN(n_classes=7).eval()
    out = model(torch.randn(3, frames, 64))
    assert out.shape == (3, frames, 7)
    probs = model.predict_proba(torch.randn(2, frames, 64))
    assert probs.shape == (2, frames, 7) and ((probs >= 0) & (probs <= 1)).all()


def test_each_output_frame_sees_its_own_input_frame():
    """Frequency-only pooling: perturbing frame t changes output at t (and, via the GRU, elsewhere)."""
    torch.manual_seed(0)
    model = CRNN(n_classes=3).eval()
    x = torch.randn(1, 50, 64)
    y0 = model(x)
    x[0, 20] += 5.0
    diff = (model(x) - y0).abs().sum(-1)[0]
    assert diff[20] > 0
    assert diff.argmax().item() in range(18, 23)


def test_seeded_init_is_deterministic():
    torch.manual_seed(123)
    a = CRNN(n_classes=5)
    torch.manual_seed(123)
    b = CRNN(n_classes=5)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    x = torch.randn(2, 40, 64)
    assert torch.equal(a.eval()(x), b.eval()(x))


def test_predict_proba_restores_training_mode():
    model = CRNN(n_classes=2).train()
    model.predict_proba(torch.randn(1, 10, 64))
    assert model.training


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"n_classes": 0}, "n_classes"),
        ({"n_classes": 3, "n_mels": 40}, r"freq_pools=\(8, 4, 2\).*n_mels=40"),
        ({"n_classes": 3, "dropout": 1.0}, "dropout"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CRNN(**kwargs)


def test_bad_input_shape_is_named():
    with pytest.raises(ValueError, match=r"\(batch, frames, 64\), got \(2, 500, 40\)"):
        CRNN(n_classes=3)(torch.zeros(2, 500, 40))


def reference_block(block, x: torch.Tensor) -> torch.Tensor:
    """The plain sequence of Table 3's block: conv -> batch norm -> ReLU -> pool -> dropout."""
    return block.dropout(block.pool(block.act(block.norm(block.conv(x)))))


@pytest.mark.parametrize("in_channels", [1, 6])
@pytest.mark.parametrize("training", [True, False])
def test_conv_block_computes_the_plain_sequence(in_channels, training):
    """The reordered ReLU, the folded normalisation (first block) and the folded running
    statistics (evaluation) give the plain sequence's outputs, gradients and running statistics."""
    import copy

    torch.manual_seed(0)
    block = CRNN(n_classes=3, channels=16).cnn[0]
    if in_channels != 1:
        block = type(block)(in_channels, 16, 4, dropout=0.0)
    block.dropout.p = 0.0  # dropout masks are drawn in the same order; compare without noise
    with torch.no_grad():  # a non-trivial normalisation
        block.norm.weight.uniform_(0.5, 2.0)
        block.norm.bias.uniform_(-1.0, 1.0)
        block.norm.running_mean.uniform_(-0.5, 0.5)
        block.norm.running_var.uniform_(0.5, 2.0)
    plain = copy.deepcopy(block)
    block.train(training)
    plain.train(training)
    x = torch.randn(4, in_channels, 50, 64) * 3 + 1
    fast_out, plain_out = block(x), reference_block(plain, x)
    torch.testing.assert_close(fast_out, plain_out, rtol=1e-4, atol=1e-5)
    if training:
        (fast_out * torch.arange(fast_out.numel()).reshape(fast_out.shape).sin()).sum().backward()
        (
            plain_out * torch.arange(plain_out.numel()).reshape(plain_out.shape).sin()
        ).sum().backward()
        for (name, a), b in zip(block.named_parameters(), plain.parameters(), strict=True):
            if name == "conv.bias":  # mathematically zero under batch norm: compare to the scale
                assert a.grad.abs().max() <= 1e-4 * plain.conv.weight.grad.abs().max()
                continue
            torch.testing.assert_close(
                a.grad, b.grad, rtol=1e-3, atol=1e-4 * b.grad.abs().max().item()
            )
        torch.testing.assert_close(block.norm.running_mean, plain.norm.running_mean)
        torch.testing.assert_close(block.norm.running_var, plain.norm.running_var)
        assert int(block.norm.num_batches_tracked) == int(plain.norm.num_batches_tracked) == 1


def test_state_dict_layout_is_unchanged():
    """Checkpoints of the plain model load into this one and back."""
    keys = set(CRNN(n_classes=25).state_dict())
    assert {"cnn.0.conv.weight", "cnn.0.norm.running_var", "cnn.0.norm.num_batches_tracked"} <= keys
    assert not any("act" in k or "pool" in k or "dropout" in k for k in keys)
