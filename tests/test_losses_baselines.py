"""The later imbalance losses (focal, class-balanced, asymmetric) against float64 formulas.

Each reference is written from the published equation with numpy/scipy,
independently of the torch implementation.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit, log_expit

from sedlib.losses import (
    asymmetric_loss,
    class_balanced_loss,
    class_balanced_weights,
    duration_robust_loss,
    focal_loss,
    get_loss,
)


def reference_focal(y, z, gamma, alpha):
    """Lin et al. (2017), Eq. (5) with alpha_t, binary per element."""
    p = expit(y)
    return -(
        alpha * (1 - p) ** gamma * z * log_expit(y)
        + (1 - alpha) * p**gamma * (1 - z) * log_expit(-y)
    )


def reference_class_balanced_weights(n, beta):
    """Cui et al. (2019), Eq. (4)-(5): (1-beta)/(1-beta^n), normalised to sum to C."""
    n = np.maximum(np.asarray(n, dtype=np.float64), 1.0)
    w = (1.0 - beta) / (1.0 - beta**n)
    return w * len(w) / w.sum()


def reference_asymmetric(y, z, gamma_pos, gamma_neg, clip):
    """Ridnik et al. (2021), Eq. (4)-(7): shifted probability on negatives."""
    p = expit(y)
    p_m = np.maximum(p - clip, 0.0)
    l_pos = (1 - p) ** gamma_pos * np.log(p)
    l_neg = p_m**gamma_neg * np.log(1 - p_m)
    return -(z * l_pos + (1 - z) * l_neg)


@pytest.fixture
def batch():
    rng = np.random.default_rng(11)
    y = rng.normal(0, 3, size=(2, 40, 6))
    z = (rng.random((2, 40, 6)) < 0.3).astype(np.float64)
    return y, z


@pytest.mark.parametrize("gamma,alpha", [(2.0, 0.25), (0.0, 0.25), (1.0, 0.75), (4.0, 0.5)])
def test_focal_matches_formula(batch, gamma, alpha):
    y, z = batch
    got = focal_loss(torch.tensor(y), torch.tensor(z), gamma=gamma, alpha=alpha, reduction="none")
    np.testing.assert_allclose(
        got.numpy(), reference_focal(y, z, gamma, alpha), rtol=1e-9, atol=1e-20
    )


def test_focal_with_half_alpha_is_half_the_duration_robust_loss(batch):
    y, z = (torch.tensor(a) for a in batch)
    torch.testing.assert_close(
        focal_loss(y, z, gamma=1.5, alpha=0.5), 0.5 * duration_robust_loss(y, z, gamma=1.5)
    )


@pytest.mark.parametrize("beta", [0.0, 0.9, 0.99, 0.999, 0.9999])
def test_class_balanced_weights_match_formula(beta):
    counts = np.array([0, 1, 98, 325, 5848, 116996])
    got = class_balanced_weights(counts, beta).numpy()
    np.testing.assert_allclose(got, reference_class_balanced_weights(counts, beta), rtol=1e-6)
    assert got.sum() == pytest.approx(len(counts), rel=1e-6)


def test_class_balanced_weights_order_and_limits():
    counts = np.array([10, 100, 1000, 10000])
    w = class_balanced_weights(counts, 0.9999).numpy()
    assert np.all(np.diff(w) < 0)  # rarer class, larger weight
    np.testing.assert_allclose(class_balanced_weights(counts, 0.0).numpy(), 1.0)
    # beta -> 1 approaches inverse frequency
    inv = (1 / counts) * len(counts) / (1 / counts).sum()
    np.testing.assert_allclose(class_balanced_weights(counts, 1 - 1e-9).numpy(), inv, rtol=1e-4)


def test_class_balanced_loss_matches_formula(batch):
    y, z = batch
    counts = np.array([3, 30, 300, 3000, 30000, 0])
    got = class_balanced_loss(
        torch.tensor(y), torch.tensor(z), counts, beta=0.999, reduction="none"
    )
    bce = -(z * log_expit(y) + (1 - z) * log_expit(-y))
    expected = reference_class_balanced_weights(counts, 0.999) * bce
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)  # weights are float32


@pytest.mark.parametrize(
    "gamma_pos,gamma_neg,clip", [(0.0, 4.0, 0.05), (1.0, 2.0, 0.0), (0.0, 0.0, 0.2)]
)
def test_asymmetric_matches_formula(batch, gamma_pos, gamma_neg, clip):
    y, z = batch
    got = asymmetric_loss(
        torch.tensor(y),
        torch.tensor(z),
        gamma_pos=gamma_pos,
        gamma_neg=gamma_neg,
        clip=clip,
        reduction="none",
    )
    expected = reference_asymmetric(y, z, gamma_pos, gamma_neg, clip)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10, atol=1e-14)


def test_asymmetric_discards_easy_negatives_and_equals_bce_without_focusing(batch):
    y = torch.tensor([-5.0, -2.0, 0.0, 3.0])
    neg = asymmetric_loss(y, torch.zeros(4), reduction="none")
    assert neg[0] == 0.0  # p = 0.007 < clip: discarded exactly
    bce = get_loss("bce")(y, torch.zeros(4), reduction="none")
    assert 0 < neg[1] < 1e-4 * bce[1]  # p = 0.12: p_m^4 = 0.07^4 leaves almost nothing
    assert neg[3] > 0.5 * bce[3] - 0.3  # p = 0.95, a hard negative, keeps most of its cost
    a, b = (torch.tensor(v) for v in batch)
    torch.testing.assert_close(
        asymmetric_loss(a, b, gamma_pos=0, gamma_neg=0, clip=0), get_loss("bce")(a, b)
    )


@pytest.mark.parametrize(
    "name,params",
    [
        ("focal", {"gamma": 2.0, "alpha": 0.25}),
        ("class_balanced", {"class_frames": [0, 10, 1e5], "beta": 0.9999}),
        ("asymmetric", {}),
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_extreme_logits_finite(name, params, dtype):
    y = torch.tensor([[-100.0, 100.0, 0.0], [100.0, -100.0, 30.0]], dtype=dtype, requires_grad=True)
    z = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=dtype)
    loss = get_loss(name, **params)(y, z, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(y.grad).all()
    elem = get_loss(name, **params)(y.detach(), z, reduction="none")
    assert elem[0, 0] > elem[1, 0]  # confidently wrong positive costs more than a right one


@pytest.mark.parametrize(
    "fn,kwargs",
    [
        (focal_loss, {"gamma": 2.0, "alpha": 0.25}),
        (asymmetric_loss, {"gamma_pos": 1.0, "gamma_neg": 4.0, "clip": 0.05}),
        (class_balanced_loss, {"class_frames": [5, 50, 500, 5000, 50, 5], "beta": 0.99}),
    ],
)
def test_gradients_match_numerical(fn, kwargs):
    rng = np.random.default_rng(5)
    y = torch.tensor(rng.normal(0, 2, (3, 6)), requires_grad=True)
    z = torch.tensor((rng.random((3, 6)) < 0.5).astype(np.float64))
    assert torch.autograd.gradcheck(lambda t: fn(t, z, reduction="sum", **kwargs), (y,))


def test_registry_names_and_bad_parameters():
    assert get_loss("focal", gamma=2).params == {"gamma": 2.0}
    assert get_loss("asymmetric").describe() == "asymmetric()"
    with pytest.raises(TypeError, match="class_frames"):
        get_loss("class_balanced")
    with pytest.raises(ValueError, match=r"gamma_neg.*-1"):
        get_loss("asymmetric", gamma_neg=-1)
    with pytest.raises(ValueError, match=r"alpha.*1\.5"):
        focal_loss(torch.zeros(2), torch.zeros(2), alpha=1.5)
    with pytest.raises(ValueError, match=r"beta.*1\.0"):
        class_balanced_weights([1, 2], beta=1.0)
    with pytest.raises(ValueError, match=r"clip.*-0\.1"):
        asymmetric_loss(torch.zeros(2), torch.zeros(2), clip=-0.1)
