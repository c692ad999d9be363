"""Shared pytest setup: hypothesis profiles sized for a 2-core CI machine.

The default "ci" profile is derandomized: every run draws the same examples, so a red CI is
reproducible and never a matter of luck. `HYPOTHESIS_PROFILE=thorough python -m pytest` draws
300 fresh random examples per property for a deeper search.
"""
import os

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
