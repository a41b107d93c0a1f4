"""empathy-bridge: emotional context for customer operations.

The public API is small: build a :class:`Bridge` from a config file and call it::

    from empathy_bridge import Bridge
    bridge = Bridge.from_config("empathy-bridge.toml")
    bridge.analyze("This is the third time I'm asking!")
    bridge.sync("zendesk")

Plugins implement the hooks in :mod:`empathy_bridge.hookspecs` with :data:`hookimpl`.
"""

from empathy_bridge.errors import (
    ConfigError,
    EmpathyBridgeError,
    FatalError,
    QuotaExhaustedError,
    RetriableError,
    SkippableError,
)
from empathy_bridge.hookspecs import hookimpl
from empathy_bridge.schemas import (
    AuthorRole,
    Conversation,
    Cue,
    EmotionalContext,
    EmotionalState,
    EmpathyMetric,
    FieldUpdate,
    HandoffDecision,
    Interaction,
    Party,
    Priority,
    PriorityDecision,
    ReplySuggestion,
    RoutingDecision,
    Tier,
    Trajectory,
    Trend,
    Visibility,
)

__version__ = "0.1.0"

__all__ = [
    "AuthorRole",
    "Bridge",
    "ConfigError",
    "Conversation",
    "Cue",
    "EmotionalContext",
    "EmotionalState",
    "EmpathyBridgeError",
    "EmpathyMetric",
    "FatalError",
    "FieldUpdate",
    "HandoffDecision",
    "Interaction",
    "Party",
    "Priority",
    "PriorityDecision",
    "QuotaExhaustedError",
    "ReplySuggestion",
    "RetriableError",
    "RoutingDecision",
    "SkippableError",
    "Tier",
    "Trajectory",
    "Trend",
    "Visibility",
    "__version__",
    "hookimpl",
]


def __getattr__(name: str) -> object:
    # Bridge pulls in SQLAlchemy and the plugin manager: import it lazily so that
    # `import empathy_bridge` in a plugin stays cheap.
    if name == "Bridge":
        from empathy_bridge.engine import Bridge

        return Bridge
    raise AttributeError(f"module 'empathy_bridge' has no attribute {name!r}")
