"""Built-in decision policies: SLA, routing, bot-to-human handoff, reply suggestions, A/B tests.

Each policy is a plain function over the canonical models (no I/O), configured by a pydantic
settings model registered as a top-level config section (see
:mod:`empathy_bridge.policies.settings`).
The hook implementations that plug them into the engine live in
:mod:`empathy_bridge.defaults.policies`, so a user's plugin can replace any one of them.
"""
