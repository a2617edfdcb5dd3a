"""A CPU training uses one thread unless told otherwise, and gives torch's thread count back.

Why one: beside a busy core, PyTorch's default (a thread per core) made the book's
training chapter 57 s a step instead of about 2 (``sedlib.training.threads``).
"""

from __future__ import annotations

import pytest
import torch
from test_batched import TINY, config

from sedlib.data.synthetic import generate
from sedlib.errors import ConfigError
from sedlib.training import batched, train
from sedlib.training.threads import THREADS, training_threads


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("data"), TINY, seed=5, jobs=1, progress=False)


@pytest.fixture(autouse=True)
def no_thread_settings(monkeypatch):
    monkeypatch.delenv(THREADS, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_one_thread_unless_told(monkeypatch):
    assert training_threads() == 1
    monkeypatch.setenv(THREADS, "3")
    assert training_threads() == 3
    monkeypatch.delenv(THREADS)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert training_threads() is None  # torch follows OMP_NUM_THREADS itself


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_thread_count_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv(THREADS, value)
    with pytest.raises(ConfigError, match=rf"{THREADS} must be a whole number .* got '{value}'"):
        training_threads()


@pytest.mark.parametrize("engine", ["single", "batched"])
def test_a_cpu_training_runs_on_one_thread_and_restores_the_count(dataset, tmp_path, engine):
    torch.set_num_threads(2)
    cfg = config(loss="bce", seed=0, epochs=1)
    if engine == "single":
        record = train(cfg, tmp_path / "run", dataset=dataset, progress=False)
    else:
        (record,) = batched.train_batched([cfg], [tmp_path / "run"], dataset=dataset,
                                          progress=False)  # fmt: skip
    assert record.provenance["device"]["torch_threads"] == 1
    assert torch.get_num_threads() == 2
