"""The supervisor's backoff and the axon's per-hotkey rate limit, with the clock passed in."""

from __future__ import annotations

import pytest

from content_miner.neuron.access_policy import AccessPolicy, AccessSettings, Neuron, RateLimiter
from content_miner.neuron.restart_policy import RestartBackoff, RestartPolicy


def test_delays_grow_by_the_factor_up_to_the_cap_then_errored() -> None:
    backoff = RestartBackoff(RestartPolicy(initial_delay_s=1, factor=3, max_delay_s=5, stable_after_s=60,
                                           max_fast_failures=5))
    decisions = [backoff.after_exit(run_duration_s=2) for _ in range(5)]
    assert [d.delay_s for d in decisions[:4]] == [1, 3, 5, 5]
    assert [d.restart_number for d in decisions[:4]] == [1, 2, 3, 4]
    assert not decisions[4].restart and decisions[4].fast_failures == 5


def test_a_stable_run_resets_the_backoff() -> None:
    backoff = RestartBackoff(RestartPolicy(initial_delay_s=1, factor=2, max_delay_s=60, stable_after_s=30,
                                           max_fast_failures=3))
    assert backoff.after_exit(1).delay_s == 1
    assert backoff.after_exit(1).delay_s == 2
    after_stable = backoff.after_exit(45)
    assert after_stable.restart and after_stable.delay_s == 1 and after_stable.restart_number == 3


@pytest.mark.parametrize(
    "kwargs", [{"factor": 0.5}, {"max_fast_failures": 0}, {"initial_delay_s": 5, "max_delay_s": 1}]
)
def test_impossible_policies_are_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RestartPolicy(**kwargs)


def test_rate_limit_allows_a_burst_then_refills_at_the_rate() -> None:
    now = [100.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.allow("v") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("other")  # buckets are per hotkey
    now[0] += 1.0
    assert limiter.allow("v") and not limiter.allow("v")


def test_blacklist_refuses_unknown_and_permitless_keys_unless_allowed() -> None:
    neurons = {"validator": Neuron(1, True, 100.0), "miner": Neuron(0, False, 0.0)}
    strict = AccessPolicy(AccessSettings(), neurons)
    assert strict.refusal("validator") is None
    assert "no validator permit" in (strict.refusal("miner") or "")
    assert "not registered" in (strict.refusal("stranger") or "")
    assert strict.refusal(None) == "no hotkey in the request"
    open_ = AccessPolicy(AccessSettings(force_validator_permit=False, allow_non_registered=True), neurons)
    assert open_.refusal("miner") is None and open_.refusal("stranger") is None
