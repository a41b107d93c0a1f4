#!/usr/bin/env python
"""Accuracy of the built-in analyzer on GoEmotions (dev split by default).

    .venv/bin/python benchmarks/accuracy.py [--data DIR] [--split dev] [--json]

Prints the six-state table (precision, recall, F1, support) with the macro-F1, the same for the
polarity-only baseline (VADER negative -> frustration, positive -> satisfaction), and the
three-class sentiment macro-F1 of our ``sentiment`` against plain VADER on the same rows.

Row selection (from the data's README): a row belongs to a state when all of its labels map to
that one state. Sentiment rows: positive = amusement, excitement, joy, love, desire, optimism,
caring, pride, admiration, gratitude, relief, approval; negative = fear, nervousness, remorse,
embarrassment, disappointment, sadness, grief, disgust, anger, annoyance, disapproval;
neutral = neutral; rows with an ambiguous label (realization, surprise, curiosity, confusion) or
labels from two groups are excluded. VADER's classes use its customary +-0.05 thresholds; ours
use the neutral band tuned on train and shipped with the model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from empathy_bridge.analysis import analyze_texts  # noqa: E402
from empathy_bridge.analysis.goemotions import (  # noqa: E402
    DATA_ENV,
    SENTIMENTS,
    load_split,
    sentiment_of,
    state_of,
)
from empathy_bridge.analysis.model import STATES, load_model, vader_features  # noqa: E402
from empathy_bridge.schemas import EmotionalState  # noqa: E402


def default_data() -> Path:
    """``$EMPATHY_BRIDGE_GOEMOTIONS`` or ``../shared/data/goemotions`` beside the repo root."""
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else ROOT.parent / "shared" / "data" / "goemotions"


def per_class(y: np.ndarray, pred: np.ndarray, names: list[str]) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each class index."""
    out = {}
    for k, name in enumerate(names):
        tp = int(((pred == k) & (y == k)).sum())
        fp = int(((pred == k) & (y != k)).sum())
        fn = int(((pred != k) & (y == k)).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[name] = {"precision": p, "recall": r, "f1": f, "support": int((y == k).sum())}
    return out


def macro(table: dict[str, dict[str, float]]) -> float:
    return float(np.mean([row["f1"] for row in table.values()]))


def three_class(values: np.ndarray, band: float) -> np.ndarray:
    return np.where(values >= band, 2, np.where(values <= -band, 0, 1))


def evaluate(data: Path, split: str) -> dict[str, Any]:
    rows = load_split(data, split)
    texts = [r.text for r in rows]
    started = time.perf_counter()
    contexts = analyze_texts(texts)
    seconds = time.perf_counter() - started
    compound = vader_features(texts)[:, 0]
    state_names = [s.value for s in STATES]

    y6 = np.array([STATES.index(s) if (s := state_of(r.labels)) else -1 for r in rows])
    ours6 = np.array([STATES.index(c.state) for c in contexts])
    polarity6 = np.where(
        compound >= 0.05,
        STATES.index(EmotionalState.SATISFACTION),
        np.where(
            compound <= -0.05,
            STATES.index(EmotionalState.FRUSTRATION),
            STATES.index(EmotionalState.NEUTRAL),
        ),
    )
    m6 = y6 >= 0
    states = per_class(y6[m6], ours6[m6], state_names)
    baseline = per_class(y6[m6], polarity6[m6], state_names)

    y3 = np.array([SENTIMENTS.index(g) if (g := sentiment_of(r.labels)) else -1 for r in rows])
    m3 = y3 >= 0
    ours_sent = np.array([c.sentiment for c in contexts])
    band = load_model().neutral_band
    ours3 = per_class(y3[m3], three_class(ours_sent[m3], band), list(SENTIMENTS))
    vader3 = per_class(y3[m3], three_class(compound[m3], 0.05), list(SENTIMENTS))
    return {
        "data": str(data),
        "split": split,
        "rows": len(rows),
        "state_rows": int(m6.sum()),
        "sentiment_rows": int(m3.sum()),
        "states": states,
        "macro_f1": macro(states),
        "polarity_baseline_macro_f1": macro(baseline),
        "sentiment": {
            "ours": ours3,
            "ours_macro_f1": macro(ours3),
            "vader": vader3,
            "vader_macro_f1": macro(vader3),
            "ours_neutral_band": band,
        },
        "analysis_seconds": seconds,
    }


def print_report(result: dict[str, Any]) -> None:
    print(f"GoEmotions {result['split']} ({result['data']}): {result['rows']} rows, "
          f"{result['state_rows']} with one state, {result['sentiment_rows']} with one sentiment")
    print(f"\n{'state':<16}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>9}")
    for name, row in result["states"].items():
        print(f"{name:<16}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>8.3f}"
              f"{row['support']:>9d}")
    print(f"{'macro-F1':<16}{'':>20}{result['macro_f1']:>8.3f}")
    print(f"polarity-only baseline macro-F1: {result['polarity_baseline_macro_f1']:.3f}")
    sent = result["sentiment"]
    print(f"\n{'sentiment':<12}{'ours F1':>9}{'VADER F1':>10}{'support':>9}")
    for name in SENTIMENTS:
        print(f"{name:<12}{sent['ours'][name]['f1']:>9.3f}{sent['vader'][name]['f1']:>10.3f}"
              f"{sent['ours'][name]['support']:>9d}")
    print(f"{'macro-F1':<12}{sent['ours_macro_f1']:>9.3f}{sent['vader_macro_f1']:>10.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Accuracy of the built-in analyzer.")
    parser.add_argument("--data", type=Path, default=None,
                        help="GoEmotions folder (default: ../shared/data/goemotions beside the "
                             f"repo root, or ${DATA_ENV})")
    parser.add_argument("--split", default="dev", choices=["dev", "train"])
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    data = (args.data or default_data()).expanduser().resolve()
    try:
        result = evaluate(data, args.split)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
