"""The BLAS thread policy: one thread for small dense blocks, every core for large ones,
overridable; and the number of threads never changes a fit's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import threadpoolctl
from conftest import fitted_case

from mlm_jupyter.engine import threads
from mlm_jupyter.engine.fit import optimize
from mlm_jupyter.engine.objective import ProfiledDeviance


class _Block:
    def __init__(self, rows: int) -> None:
        self.rows = rows

    def largest_dense_block(self) -> int:
        return self.rows


def _blas_threads_now() -> set[int]:
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    threads.set_blas_threads(None)
    yield
    threads.set_blas_threads(None)


def test_small_blocks_get_one_thread_and_large_ones_every_core() -> None:
    small, large = threads.MULTI_THREAD_MIN - 1, threads.MULTI_THREAD_MIN
    assert threads.threads_for(small) == 1
    assert threads.threads_for(large) == threads.auto_threads()
    with threads.blas_limit(_Block(small)):
        assert _blas_threads_now() == {1}
    with threads.blas_limit(_Block(large)):
        assert _blas_threads_now() == {threads.auto_threads()}


def test_environment_variable_and_setter_override_the_policy(monkeypatch) -> None:
    large = 10 * threads.MULTI_THREAD_MIN
    monkeypatch.setenv(threads.ENV, "1")
    assert threads.threads_for(large) == 1
    with threads.blas_limit(_Block(large)):
        assert _blas_threads_now() == {1}
    monkeypatch.setenv(threads.ENV, "3")
    assert threads.threads_for(large) == 3
    assert threads.threads_for(10) == 1  # small blocks stay on one thread
    monkeypatch.setenv(threads.ENV, "auto")
    assert threads.threads_for(large) == threads.auto_threads()
    threads.set_blas_threads(2)  # the setter wins over the environment
    monkeypatch.setenv(threads.ENV, "1")
    assert threads.threads_for(large) == 2
    threads.set_blas_threads("auto")
    assert threads.threads_for(large) == 1


def test_the_users_blas_setting_caps_the_policy(monkeypatch) -> None:
    """OPENBLAS_NUM_THREADS=1 at start-up (BLAS started with one thread) stays a ceiling."""
    threads.threads_for(10 * threads.MULTI_THREAD_MIN)  # the controller reads the setting
    monkeypatch.setattr(threads, "_STARTED_WITH", 1)
    assert threads.threads_for(10 * threads.MULTI_THREAD_MIN) == 1
    monkeypatch.setenv(threads.ENV, "2")  # an explicit number is the user's choice
    assert threads.threads_for(10 * threads.MULTI_THREAD_MIN) == 2


@pytest.mark.parametrize("bad", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_refused_by_name(monkeypatch, bad: str) -> None:
    monkeypatch.setenv(threads.ENV, bad)
    with pytest.raises(ValueError, match="MLM_JUPYTER_BLAS_THREADS.*positive whole number"):
        threads.threads_for(10 * threads.MULTI_THREAD_MIN)
    with pytest.raises(ValueError, match="set_blas_threads"):
        threads.set_blas_threads(bad)


def test_the_thread_count_does_not_change_the_fit(monkeypatch) -> None:
    """Forcing two threads onto a small crossed model (threshold 0) gives lme4's optimum."""
    res = fitted_case("penicillin_crossed")
    cp = res.engine.cp
    one = optimize(ProfiledDeviance(cp, reml=res.reml))
    monkeypatch.setattr(threads, "MULTI_THREAD_MIN", 0)
    threads.set_blas_threads(2)
    two = optimize(ProfiledDeviance(cp, reml=res.reml))
    assert two.objective == pytest.approx(one.objective, rel=1e-12)
    np.testing.assert_allclose(two.theta, one.theta, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(one.theta, res.engine_theta, rtol=1e-6, atol=1e-8)
