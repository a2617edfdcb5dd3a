"""Per-frame gradients of E3 against autograd; per-class shares against a direct sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sedlib.loss_shares import class_shares, frame_gradient, frame_loss, probability_histograms
from sedlib.losses import duration_robust_loss


@pytest.mark.parametrize("gamma", [0.0, 0.25, 1.0, 4.0])
@pytest.mark.parametrize("z", [0, 1])
def test_frame_loss_and_gradient_match_autograd(gamma, z):
    logits = torch.linspace(-8, 8, 101, dtype=torch.float64, requires_grad=True)
    target = torch.full_like(logits, float(z))
    loss = duration_robust_loss(logits, target, gamma=gamma, reduction="none")
    loss.sum().backward()
    p = torch.sigmoid(logits).detach().numpy()
    np.testing.assert_allclose(
        frame_loss(p, z, gamma), loss.detach().numpy(), rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        frame_gradient(p, z, gamma), np.abs(logits.grad.numpy()), rtol=1e-7, atol=1e-12
    )


def test_histograms_count_every_frame_once():
    rng = np.random.default_rng(0)
    probs = [rng.random((100, 3)), rng.random((40, 3))]
    labels = [
        (rng.random((100, 3)) < 0.2).astype(np.uint8),
        (rng.random((40, 3)) < 0.2).astype(np.uint8),
    ]
    h = probability_histograms(probs, labels, n_bins=10)
    assert h["positive"].shape == (3, 10)
    total = h["positive"].sum(1) + h["negative"].sum(1)
    assert (total == 140).all()
    assert h["positive"].sum() == sum(int(y.sum()) for y in labels)


def test_shares_equal_direct_sums_over_frames():
    rng = np.random.default_rng(1)
    n_bins = 50
    centres = (np.arange(n_bins) + 0.5) / n_bins
    pos = rng.integers(0, 50, (4, n_bins))
    neg = rng.integers(0, 500, (4, n_bins))
    table = class_shares(pos, neg, gamma=2.0, labels=list("abcd"))
    # direct: expand the histograms back into frames
    grads = []
    for k in range(4):
        g = sum(c * frame_gradient(centres[b], 1, 2.0) for b, c in enumerate(pos[k]))
        g += sum(c * frame_gradient(centres[b], 0, 2.0) for b, c in enumerate(neg[k]))
        grads.append(g)
    np.testing.assert_allclose(
        table["gradient_share"].to_numpy(), np.array(grads) / sum(grads), rtol=1e-10
    )
    assert table["loss_share"].sum() == pytest.approx(1.0)


def test_easy_frames_lose_their_share_as_gamma_grows():
    """A class whose frames are all confidently right loses share to a class with hard frames."""
    n_bins = 50
    easy_neg = np.zeros((2, n_bins))
    easy_neg[0, 1] = 10_000  # class 0: many easy inactive frames (p ~ 0.03)
    easy_neg[1, 1] = 100
    pos = np.zeros((2, n_bins))
    pos[1, 10] = 100  # class 1: few active frames, p ~ 0.21 (hard)
    e1 = class_shares(pos, easy_neg, 0.0)["gradient_share"]
    e3 = class_shares(pos, easy_neg, 2.0)["gradient_share"]
    assert e3[1] > e1[1] and e3[0] < e1[0]
