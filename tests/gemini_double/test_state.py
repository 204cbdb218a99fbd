from __future__ import annotations

import pytest

from roomwire.gemini_double.config import ConfigError, DoubleConfig
from roomwire.gemini_double.faults import Fault
from roomwire.gemini_double.state import DoubleState


async def test_configure_reset_and_stop() -> None:
    state = DoubleState(DoubleConfig(), clock=lambda: 2.0)
    assert state.now_ms() == 2000.0
    assert state.configure({"journal_limit": 1}).journal_limit == 1
    with pytest.raises(ConfigError):
        state.configure({"latency": "warp"})
    assert state.config.latency == "fast"
    state.faults.add(Fault(kind="abort"))
    state.quota.admit("m", "k", 1, 0.0)
    state.reset()
    assert state.faults.pending() == [] and state.quota.admit("m", "k", 1, 0.0) is None

    live = state.interrupt_event()
    state.stop_all()
    assert live.is_set() and state.interrupt_event().is_set()
    state.release(live)
