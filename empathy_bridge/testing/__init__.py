"""Test kit: pytest fixtures (auto-registered through ``pytest11``) and the conformance suite."""

from empathy_bridge.testing.conformance import AdapterConformance

__all__ = ["AdapterConformance"]
