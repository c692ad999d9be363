"""Shared pytest setup: hypothesis profiles sized for a 2-core CI machine, and the fast_judge
fixture of the GAN plumbing tests.

The default "ci" profile is derandomized: every run draws the same examples, so a red CI is
reproducible and never a matter of luck. `HYPOTHESIS_PROFILE=thorough python -m pytest` draws
300 fresh random examples per property for a deeper search.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def fast_judge(monkeypatch, tmp_path):
    """An untrained judge stands in for the project's classifier (trained on first use, about a
    CPU-minute): tests that use it check the plumbing, the metric tests check the numbers. No
    progress bars, and the folder cache in tmp_path."""
    import tinygen as tg
    from tinygen.metrics import classifier as judge
    monkeypatch.setenv("TINYGEN_PROGRESS", "0")
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))
    tg.random.manual_seed(0)
    monkeypatch.setattr(judge, "_CACHE", {"model": judge.MNISTClassifier().eval(),
                                          "accuracy": 0.0})
