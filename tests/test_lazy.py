"""Lazy public names (PEP 562): resolved from their home module on first read."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from empathy_bridge.lazy import lazy_exports


def test_a_name_resolves_from_its_home_and_unknown_names_raise() -> None:
    getattr_ = lazy_exports("empathy_bridge.metrics", {"MetricQuery": ".query", "fp": "hashlib"})
    assert getattr_("MetricQuery") is importlib.import_module(
        "empathy_bridge.metrics.query").MetricQuery
    with pytest.raises(AttributeError, match="has no attribute 'fp'"):
        getattr_("fp")  # hashlib has no such name: the home module's AttributeError
    with pytest.raises(AttributeError, match=r"'empathy_bridge\.metrics' has no attribute 'nope'"):
        getattr_("nope")


def test_importing_the_metrics_package_does_not_import_the_store() -> None:
    # Why the names are lazy: the metrics plugin's settings import the package at every start.
    code = ("import sys, empathy_bridge.metrics.settings; "
            "print('sqlalchemy' in sys.modules, 'scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
