"""The options of the attribution study each do what they claim.

Causes of the departure from the paper, each a setting (issue "Why the numbers
depart from the paper"): the optimizer (Adam or SGD with momentum), the
initial output bias (class priors or zero), E2's N_m (per data set or per
clip), the model selection (best validation epoch or last), and the audio's
difficulty (the generator's event-to-background ratio offset).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from sedlib.data.synthetic.generate import SAMPLE_RATE, dataset_name, generate, render_file
from sedlib.losses import inverse_frequency_loss
from sedlib.model import CRNN
from sedlib.training.config import TrainConfig
from sedlib.training.loop import init_bias, make_optimizer


def _tiny_model(seed: int = 0) -> CRNN:
    torch.manual_seed(seed)
    return CRNN(n_classes=3, channels=4, dropout=0.0)


def _one_step(config: TrainConfig) -> tuple[dict, dict]:
    """Parameters before and after one update on a fixed batch, and their gradients."""
    model = _tiny_model()
    optimizer = make_optimizer(model, config)
    x = torch.randn(2, 20, 64, generator=torch.Generator().manual_seed(1))
    y = (torch.rand(2, 20, 3, generator=torch.Generator().manual_seed(2)) > 0.7).float()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in model.named_parameters()}
    optimizer.step()
    after = {k: v.detach().clone() for k, v in model.named_parameters()}
    return before, after, grads


def test_sgd_and_adam_take_their_own_first_step():
    before, sgd, grads = _one_step(TrainConfig(optimizer="sgd", lr=0.1, momentum=0.9))
    _, adam, _ = _one_step(TrainConfig(optimizer="adam", lr=0.1))
    for name, p0 in before.items():
        g = grads[name].double()
        # SGD's first step (momentum buffer = gradient): p - lr * g
        torch.testing.assert_close(sgd[name].double(), p0.double() - 0.1 * g, rtol=0, atol=1e-6)
        # Adam's first step: p - lr * g / (|g| + eps) (bias-corrected moments)
        expected = p0.double() - 0.1 * g / (g.abs() + 1e-8)
        torch.testing.assert_close(adam[name].double(), expected, rtol=0, atol=1e-5)
    assert any(not torch.allclose(sgd[k], adam[k]) for k in before)


def test_momentum_is_a_setting_of_sgd_only():
    assert TrainConfig(optimizer="adam").resolved("cpu")["momentum"] is None  # Adam has none
    with pytest.raises(ValueError, match=r"TrainConfig\.momentum = 0\.5: a setting of SGD"):
        TrainConfig(optimizer="adam", momentum=0.5)  # refused, not dropped (issue 31)
    assert TrainConfig(optimizer="sgd", momentum=0.5).resolved("cpu")["momentum"] == 0.5
    with pytest.raises(ValueError, match=r"TrainConfig\.optimizer = 'lbfgs'"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"TrainConfig\.momentum = 1"):
        TrainConfig(optimizer="sgd", momentum=1)


def test_zero_output_bias_gives_zero_biases_and_prior_the_log_odds():
    frames = np.array([10, 250, 0])
    model = _tiny_model()
    init_bias(model, TrainConfig(output_bias="zero"), frames, 1000)
    assert torch.count_nonzero(model.out.bias) == 0
    init_bias(model, TrainConfig(output_bias="prior"), frames, 1000)
    prior = np.clip(frames / 1000, 1e-4, 0.5)
    np.testing.assert_allclose(
        model.out.bias.detach().numpy(), np.log(prior / (1 - prior)), rtol=1e-6
    )


def test_per_clip_class_frames_equal_a_weight_computed_by_hand():
    """One clip of 10 frames: class 0 active in 3 frames, class 1 in 10, class 2 in none."""
    targets = torch.zeros(1, 10, 3, dtype=torch.float64)
    targets[0, 2:5, 0] = 1
    targets[0, :, 1] = 1
    logits = torch.linspace(-2, 2, 30, dtype=torch.float64).reshape(1, 10, 3)
    C = 4.0
    got = inverse_frequency_loss(logits, targets, "clip", C=C, reduction="none")
    p = 1 / (1 + np.exp(-logits.numpy()))
    z = targets.numpy()
    bce = -(z * np.log(p) + (1 - z) * np.log(1 - p))
    weights = np.array([C / (3 + C), C / (10 + C), C / (0 + C)])  # by hand
    np.testing.assert_allclose(got.numpy(), bce * weights, rtol=1e-6)  # weights in float32
    # the data-set reading with other counts gives other weights
    other = inverse_frequency_loss(logits, targets, np.array([30, 100, 5]), C=C, reduction="none")
    assert not np.allclose(other.numpy(), got.numpy())


def test_the_last_epoch_needs_a_fixed_schedule():
    with pytest.raises(ValueError, match=r"TrainConfig\.selection = 'last'.*patience"):
        TrainConfig(selection="last")
    assert (
        TrainConfig(selection="last", patience=0, patience_steps=0).resolved("cpu")["selection"]
        == "last"
    )


def _event_gain_db(easy: np.ndarray, hard: np.ndarray, event: slice, quiet: slice) -> float:
    """How many dB quieter the event is in ``hard`` than in ``easy``, against the same background.

    Both files hold the same background (the same random draws) and the same
    event at gains 1 and k, each scaled by its own peak normalisation. The
    quiet span (background only) gives the ratio of the two scalings; then,
    on the event's span, u = easy - hard = (1 - k) e, and since background and
    event are uncorrelated, <easy, u> / <u, u> = 1 / (1 - k).
    """
    easy, hard = easy.astype(np.float64), hard.astype(np.float64)
    hard = hard * np.sqrt(np.mean(easy[quiet] ** 2) / np.mean(hard[quiet] ** 2))
    u = easy[event] - hard[event]
    k = 1 - np.dot(u, u) / np.dot(easy[event], u)
    return 20 * math.log10(k)


@pytest.mark.parametrize("offset", [-6.0, -12.0, -20.0])
def test_the_difficulty_lowers_the_event_to_background_ratio_by_the_db_asked(offset):
    sr = SAMPLE_RATE
    events = pd.DataFrame(
        [("f.wav", "home", 4.0, 8.0, "fan")],
        columns=["filename", "scene_label", "onset", "offset", "event_label"],
    )
    event, quiet = slice(int(4.5 * sr), int(7.5 * sr)), slice(int(0.5 * sr), int(3.5 * sr))
    easy = render_file(events, "home", 10.0, sr, (3, 1, 0, 0))
    hard = render_file(events, "home", 10.0, sr, (3, 1, 0, 0), ebr_offset_db=offset)
    assert _event_gain_db(easy, hard, event, quiet) == pytest.approx(offset, abs=0.2)


def test_the_difficulty_is_part_of_the_data_set_and_its_name(tmp_path):
    from sedlib.data.synthetic.generate import Preset

    tiny = Preset(1.0, 0.5, 30.0, (1, 1))
    plain = generate(tmp_path / "plain", tiny, seed=1, jobs=1, progress=False)
    hard = generate(tmp_path / "hard", tiny, seed=1, jobs=1, progress=False, ebr_offset_db=-10)
    assert "ebr_offset_db" not in plain.info["settings"]  # the default keeps its identity
    assert hard.info["settings"]["ebr_offset_db"] == -10.0
    assert plain.fingerprint != hard.fingerprint
    assert dataset_name("tut-timeline", 0, -12) == "synthetic-tut-timeline-ebr-12-seed0"
    assert dataset_name("small", 2) == "synthetic-small-seed2"
    with pytest.raises(ValueError, match="ebr_offset_db"):
        generate(tmp_path / "bad", tiny, seed=1, ebr_offset_db=float("nan"))


def test_the_registry_reads_the_difficulty_from_the_name(tmp_path, monkeypatch):
    from sedlib.data import registry

    seen = {}
    monkeypatch.setenv("SEDLIB_DATA_ROOT", str(tmp_path))

    def fake_generate(root, preset, seed, **kw):
        seen.update(root=root, preset=preset, seed=seed, **kw)
        return "dataset"

    import sedlib.data.synthetic as synthetic

    monkeypatch.setattr(synthetic, "generate", fake_generate)
    assert registry.get_dataset("synthetic-tut-timeline-ebr-12.5-seed3") == "dataset"
    assert (seen["preset"], seen["seed"], seen["ebr_offset_db"]) == ("tut-timeline", 3, -12.5)
    assert seen["root"] == tmp_path / "synthetic" / "tut-timeline-ebr-12.5-seed3"
