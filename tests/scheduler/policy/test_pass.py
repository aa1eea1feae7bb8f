"""The pass as a whole: it leaves the interpreter as it found it."""

import gc

import pytest

from scheduler.policy.policy import schedule
from scheduler.policy.types import ClusterState

from .builders import cluster, job


def test_a_pass_pauses_the_cyclic_collector_and_gives_it_back():
    state = ClusterState(now=0.0, gpus=cluster(), pending=(job("a"),))
    assert gc.isenabled()
    schedule(state)
    assert gc.isenabled()
    gc.disable()
    try:
        schedule(state)
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()


def test_a_failing_pass_still_gives_the_collector_back():
    broken = ClusterState(now=0.0, gpus=cluster(), pending=(job("a", gpus=None),))
    with pytest.raises(TypeError):
        schedule(broken)
    assert gc.isenabled()
