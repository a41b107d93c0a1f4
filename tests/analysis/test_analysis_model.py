"""The shipped model loads, stays small, and keeps a loose accuracy floor on a slice of dev."""

from __future__ import annotations

import numpy as np
import pytest

from empathy_bridge.analysis import analyze_texts
from empathy_bridge.analysis.goemotions import default_data_dir, load_split, state_of
from empathy_bridge.analysis.model import MODEL_PATH, STATES, load_model

# The first rows of dev, fixed: enough for a stable figure, small enough for a quick test.
SLICE = 2000
# Loose on purpose: the benchmark (benchmarks/accuracy.py) reports the real figure (~0.57).
FLOOR_MACRO_F1 = 0.45


def test_model_ships_in_the_package_and_is_small() -> None:
    assert MODEL_PATH.is_file()
    assert MODEL_PATH.stat().st_size < 5_000_000
    model = load_model()
    assert model.weights.shape == (model.n_features, 9)
    assert 0.0 < model.neutral_band < 1.0
    assert model.meta["trained_on"] == "GoEmotions train split"


def test_missing_weights_name_the_script() -> None:
    with pytest.raises(FileNotFoundError, match=r"train_emotion_model\.py"):
        load_model(MODEL_PATH.with_name("nope.npz"))


def test_accuracy_on_a_dev_slice_stays_above_a_floor() -> None:
    data = default_data_dir()
    if not (data / "dev.tsv").is_file():
        pytest.skip(f"GoEmotions dev split not found in {data} (set EMPATHY_BRIDGE_GOEMOTIONS)")
    rows = [r for r in load_split(data, "dev")[:SLICE] if state_of(r.labels) is not None]
    contexts = analyze_texts([r.text for r in rows])
    y = np.array([STATES.index(s) for r in rows if (s := state_of(r.labels)) is not None])
    pred = np.array([STATES.index(c.state) for c in contexts])
    f1 = []
    for k in range(len(STATES)):
        tp = ((pred == k) & (y == k)).sum()
        denom = (pred == k).sum() + (y == k).sum()
        f1.append(2 * tp / denom if denom else 0.0)
    assert float(np.mean(f1)) >= FLOOR_MACRO_F1, dict(zip(STATES, np.round(f1, 3), strict=True))
