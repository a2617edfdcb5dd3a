"""Losses against float64 formulas written independently with numpy/scipy."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import expit, log_expit

from sedlib.losses import (
    bce_loss,
    duration_robust_loss,
    get_loss,
    inverse_frequency_loss,
    inverse_frequency_weights,
)
from sedlib.training.split import count_class_frames

GAMMAS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


def reference_e3(y: np.ndarray, z: np.ndarray, gamma: float) -> np.ndarray:
    """Eq. (4) element-wise in float64."""
    p, q = expit(y), expit(-y)  # q = 1 - p without cancellation
    log_p, log_q = log_expit(y), log_expit(-y)
    return -(q**gamma * z * log_p + p**gamma * (1 - z) * log_q)


def reference_e1(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Eq. (2) element-wise in float64."""
    return -(z * log_expit(y) + (1 - z) * log_expit(-y))


@pytest.fixture
def batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    y = rng.normal(0, 4, size=(3, 50, 7))
    z = (rng.random((3, 50, 7)) < 0.3).astype(np.float64)
    return y, z


def test_bce_matches_formula(batch):
    y, z = batch
    got = bce_loss(torch.tensor(y, dtype=torch.float32), torch.tensor(z), reduction="none")
    np.testing.assert_allclose(got.numpy(), reference_e1(y, z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_duration_robust_matches_formula(batch, gamma):
    y, z = batch
    got = duration_robust_loss(
        torch.tensor(y, dtype=torch.float32), torch.tensor(z), gamma=gamma, reduction="none"
    )
    np.testing.assert_allclose(got.numpy(), reference_e3(y, z, gamma), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("gamma", GAMMAS)
def test_duration_robust_soft_targets_float64(gamma):
    rng = np.random.default_rng(2)
    y, z = rng.normal(0, 10, 500), rng.random(500)
    got = duration_robust_loss(torch.tensor(y), torch.tensor(z), gamma=gamma, reduction="none")
    np.testing.assert_allclose(got.numpy(), reference_e3(y, z, gamma), rtol=1e-12, atol=1e-300)


def test_gamma_zero_equals_bce(batch):
    y, z = (torch.tensor(a) for a in batch)
    torch.testing.assert_close(
        duration_robust_loss(y, z, gamma=0.0), bce_loss(y, z), rtol=1e-12, atol=0
    )


def test_duration_robust_downweights_easy_frames():
    y = torch.tensor([6.0, -6.0, 0.0])  # easy positive, hard positive, uncertain
    z = torch.ones(3)
    ratio = duration_robust_loss(y, z, gamma=2.0, reduction="none") / bce_loss(
        y, z, reduction="none"
    )
    p = torch.sigmoid(y)
    torch.testing.assert_close(ratio, (1 - p) ** 2)
    assert ratio[0] < 1e-4 < 0.9 < ratio[1]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "name,params",
    [("bce", {}), ("inverse_frequency", {"class_frames": [0, 10, 1e5]})]
    + [("duration_robust", {"gamma": g}) for g in GAMMAS],
)
def test_extreme_logits_finite_values_and_gradients(name, params, dtype):
    y = torch.tensor([[-100.0, 100.0, 0.0], [100.0, -100.0, 30.0]], dtype=dtype, requires_grad=True)
    z = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]], dtype=dtype)
    loss = get_loss(name, **params)(y, z, reduction="sum")
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(y.grad).all()
    # Confidently wrong frames cost about |logit|; confidently right ones about 0.
    elem = get_loss(name, **params)(y.detach(), z, reduction="none")
    assert elem[0, 1] > 1.0 and elem[1, 0] < 1e-6 * (1 + elem[0, 1])


def test_extreme_logits_match_float64_formula():
    y = np.array([-100.0, -40.0, -15.0, 15.0, 40.0, 100.0])
    for z_val in (0.0, 1.0):
        z = np.full_like(y, z_val)
        for gamma in GAMMAS:
            got = duration_robust_loss(
                torch.tensor(y), torch.tensor(z), gamma=gamma, reduction="none"
            )
            np.testing.assert_allclose(
                got.numpy(), reference_e3(y, z, gamma), rtol=1e-10, atol=1e-300
            )


@pytest.mark.parametrize("gamma", [0.25, 1.0, 4.0])
def test_duration_robust_gradient_matches_numerical(gamma):
    rng = np.random.default_rng(3)
    y = torch.tensor(rng.normal(0, 3, (4, 5)), requires_grad=True)
    z = torch.tensor((rng.random((4, 5)) < 0.5).astype(np.float64))
    assert torch.autograd.gradcheck(
        lambda t: duration_robust_loss(t, z, gamma=gamma, reduction="sum"), (y,)
    )


def test_inverse_frequency_dataset_counts(batch):
    y, z = batch
    counts = np.array([0, 1, 10, 100, 500, 1000, 116837])
    got = inverse_frequency_loss(
        torch.tensor(y), torch.tensor(z), counts, C=500.0, reduction="none"
    )
    expected = (500.0 / (counts + 500.0)) * reference_e1(y, z)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)  # weights are float32


def test_inverse_frequency_per_clip_counts(batch):
    y, z = batch
    got = inverse_frequency_loss(torch.tensor(y), torch.tensor(z), "clip", C=20.0, reduction="none")
    n_m = z.sum(axis=1, keepdims=True)  # frames of class m in each clip
    expected = (20.0 / (n_m + 20.0)) * reference_e1(y, z)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_inverse_frequency_weights_and_counts():
    z = np.zeros((2, 10, 3))
    z[0, :4, 0] = 1
    z[1, 2:9, 0] = 1
    z[1, :, 2] = 1
    counts = count_class_frames(z)
    assert counts.tolist() == [11, 0, 10]
    np.testing.assert_allclose(
        inverse_frequency_weights(counts, C=500).numpy(), 500 / (counts + 500), rtol=1e-7
    )


@pytest.mark.parametrize("name", ["bce", "duration_robust"])
def test_reductions(batch, name):
    y, z = (torch.tensor(a) for a in batch)
    fn = get_loss(name)
    none = fn(y, z, reduction="none")
    assert none.shape == y.shape
    torch.testing.assert_close(fn(y, z, reduction="sum"), none.sum())
    torch.testing.assert_close(fn(y, z, reduction="mean"), none.mean())


def test_get_loss_binds_parameters_and_aliases(batch):
    y, z = (torch.tensor(a) for a in batch)
    loss = get_loss("E3", gamma=4)
    assert loss.name == "duration_robust" and loss.params == {"gamma": 4.0}
    assert loss.describe() == "duration_robust(gamma=4.0)"
    torch.testing.assert_close(loss(y, z), duration_robust_loss(y, z, gamma=4.0))
    assert get_loss("e1").name == "bce"


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: bce_loss(torch.zeros(2, 3), torch.zeros(2, 4)), r"\(2, 3\).*\(2, 4\)"),
        (lambda: bce_loss(torch.zeros(3), torch.tensor([0.0, 1.5, 1.0])), r"\[0, 1\].*1\.5"),
        (lambda: bce_loss(torch.zeros(3), torch.tensor([0.0, float("nan"), 1.0])), r"\[0, 1\]"),
        (lambda: bce_loss(torch.zeros(3), torch.zeros(3), reduction="avg"), "'avg'"),
        (lambda: duration_robust_loss(torch.zeros(3), torch.zeros(3), gamma=-1), "-1"),
        (lambda: get_loss("focal_tversky"), "'focal_tversky'"),
        (lambda: get_loss("inverse_frequency"), "class_frames"),
        (lambda: get_loss("bce", gamma=1.0), "gamma"),
        (
            lambda: inverse_frequency_loss(torch.zeros(2, 3), torch.zeros(2, 3), [1, 2]),
            r"\(2,\).*\(3,\)",
        ),
        (lambda: inverse_frequency_weights([1, -2]), "-2"),
    ],
)
def test_bad_input_is_named(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
