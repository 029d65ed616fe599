"""The collector held off for a block, and restored however the block ends."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from zappa_eager.runtime.heap import held_collector


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_the_collector_is_off_inside_and_on_after() -> None:
    with held_collector():
        assert gc.isenabled() is False
    assert gc.isenabled() is True


def test_an_exception_in_the_block_still_turns_it_back_on() -> None:
    with pytest.raises(RuntimeError), held_collector():
        raise RuntimeError("INIT failed")
    assert gc.isenabled() is True


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with held_collector():
        assert gc.isenabled() is False
    assert gc.isenabled() is False
