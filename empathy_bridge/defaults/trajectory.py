"""Built-in conversation trajectory, registered as the plugin ``builtin.trajectory``.

The rules live in :mod:`empathy_bridge.analysis.trajectory`; replace them with a plugin that
implements ``empathy_bridge_analyze_conversation`` with ``tryfirst=True``.
"""

from __future__ import annotations

from empathy_bridge.analysis.trajectory import compute_trajectory
from empathy_bridge.config import BridgeConfig
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import Conversation, Trajectory


@hookimpl
def empathy_bridge_analyze_conversation(
    conversation: Conversation, config: BridgeConfig
) -> Trajectory | None:
    """Opening and latest state, trend, peak distress and bot turns since it worsened."""
    return compute_trajectory(conversation)
