"""The collector pause used around analysis batches restores the caller's collector state."""

from __future__ import annotations

import gc

import pytest

from empathy_bridge.gc_pause import paused_gc


def test_pause_disables_then_restores_an_enabled_collector() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_pause_restores_the_collector_after_an_exception() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("analysis failed")
    assert gc.isenabled()


def test_pause_keeps_a_collector_the_caller_disabled_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()

