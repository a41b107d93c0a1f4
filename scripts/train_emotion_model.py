#!/usr/bin/env python
"""Train the built-in emotion model on the GoEmotions *train* split and write its weights.

    python scripts/train_emotion_model.py [--data DIR] [--out empathy_bridge/data/emotion_model.npz]

``--data`` defaults to ``$EMPATHY_BRIDGE_GOEMOTIONS`` or ``../shared/data/goemotions`` beside the
checkout. Needs scikit-learn (training only: ``pip install scikit-learn``); run time needs only
numpy and scipy. The data is never committed.

The model: scikit-learn's ``HashingVectorizer`` (word 1-2 grams, 2**18 buckets, l2 norm) plus
VADER's four scores as dense features, and two multinomial logistic regressions sharing them:
one over the six customer-service states (rows whose labels all map to one state, balanced class
weights) and one over negative/neutral/positive (GoEmotions' sentiment grouping). The dev split is
never read here: decision offsets and the sentiment blend are tuned on a held-out 15% of train,
then both heads are refitted on all of train.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from empathy_bridge.analysis.goemotions import (  # noqa: E402
    SENTIMENTS,
    default_data_dir,
    load_split,
    sentiment_of,
    state_of,
)
from empathy_bridge.analysis.model import (  # noqa: E402
    DENSE_FEATURES,
    MODEL_PATH,
    N_FEATURES,
    STATES,
    sentiment_from,
    vader_features,
)
from empathy_bridge.analysis.prepare import model_text  # noqa: E402

SEED = 13
C_STATES = 5.0
C_SENTIMENT = 2.0


def vectorizer() -> HashingVectorizer:
    """The training-side featurizer; ``empathy_bridge.analysis.hashing`` must match it exactly."""
    return HashingVectorizer(
        n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2"
    )


def features(texts: list[str]) -> sp.csr_matrix:
    """Hashed n-grams of the prepared texts, then VADER's dense scores."""
    prepared = [model_text(t) for t in texts]
    hashed = vectorizer().transform(prepared)
    dense = vader_features(texts)
    return sp.hstack([hashed, sp.csr_matrix(dense)]).tocsr()


def fit(x: sp.csr_matrix, y: npt.NDArray[np.int64], c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    return model


def tune_offsets(
    logp: npt.NDArray[np.float64], y: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Per-state additive log-offsets maximising macro-F1 (coordinate ascent on held-out train)."""
    offsets = np.zeros(logp.shape[1])
    grid = np.linspace(-1.0, 1.0, 21)
    best = f1_score(y, logp.argmax(1), average="macro")
    for _ in range(3):
        for k in range(logp.shape[1]):
            for value in grid:
                trial = offsets.copy()
                trial[k] = value
                score = f1_score(y, (logp + trial).argmax(1), average="macro")
                if score > best + 1e-9:
                    best, offsets = score, trial
    return offsets


def tune_sentiment(
    compound: npt.NDArray[np.float64], p3: npt.NDArray[np.float64], y: npt.NDArray[np.int64]
) -> tuple[float, float, float]:
    """Blend weight of VADER and the neutral band maximising 3-class macro-F1."""
    best = (-1.0, 0.5, 0.05)
    for alpha in np.linspace(0.0, 1.0, 11):
        for band in np.linspace(0.05, 0.6, 12):
            s = sentiment_from(compound, p3, float(alpha))
            pred = np.where(s >= band, 2, np.where(s <= -band, 0, 1))
            score = f1_score(y, pred, average="macro")
            if score > best[0]:
                best = (float(score), float(alpha), float(band))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="folder with train.tsv")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    data_dir = (args.data or default_data_dir()).resolve()
    started = time.perf_counter()
    rows = load_split(data_dir, "train")
    texts = [r.text for r in rows]
    x = features(texts)
    s6 = np.array([STATES.index(s) if (s := state_of(r.labels)) else -1 for r in rows])
    s3 = np.array(
        [SENTIMENTS.index(g) if (g := sentiment_of(r.labels)) else -1 for r in rows]
    )
    compound = x[:, N_FEATURES].toarray().ravel()

    rng = np.random.default_rng(SEED)
    held = rng.random(len(rows)) < 0.15
    fit6, ev6 = (s6 >= 0) & ~held, (s6 >= 0) & held
    fit3, ev3 = (s3 >= 0) & ~held, (s3 >= 0) & held
    m6 = fit(x[fit6], s6[fit6], C_STATES)
    logp = m6.predict_log_proba(x[ev6])
    offsets = tune_offsets(logp, s6[ev6])
    f6_plain = f1_score(s6[ev6], logp.argmax(1), average="macro")
    f6_tuned = f1_score(s6[ev6], (logp + offsets).argmax(1), average="macro")
    m3 = fit(x[fit3], s3[fit3], C_SENTIMENT)
    f3, alpha, band = tune_sentiment(compound[ev3], m3.predict_proba(x[ev3]), s3[ev3])
    print(f"held-out train: 6-state macro-F1 {f6_plain:.3f} -> {f6_tuned:.3f} with offsets "
          f"{np.round(offsets, 2).tolist()}; sentiment macro-F1 {f3:.3f} "
          f"(alpha {alpha:.2f}, band {band:.2f})")

    # Refit on all of train with the tuned settings.
    m6 = fit(x[s6 >= 0], s6[s6 >= 0], C_STATES)
    m3 = fit(x[s3 >= 0], s3[s3 >= 0], C_SENTIMENT)
    coef = np.vstack([m6.coef_, m3.coef_]).T.astype(np.float32)  # (features, 9)
    hashed, dense = coef[:N_FEATURES], coef[N_FEATURES:]
    buckets = np.flatnonzero(np.abs(hashed).max(axis=1) > 0).astype(np.uint32)
    meta = {
        "trained_on": "GoEmotions train split",
        "rows_states": int((s6 >= 0).sum()),
        "rows_sentiment": int((s3 >= 0).sum()),
        "c_states": C_STATES,
        "c_sentiment": C_SENTIMENT,
        "held_out_macro_f1": round(float(f6_tuned), 4),
        "held_out_sentiment_f1": round(float(f3), 4),
        "dense_features": list(DENSE_FEATURES),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        n_features=np.int64(N_FEATURES),
        states=np.array([s.value for s in STATES]),
        sentiments=np.array(SENTIMENTS),
        buckets=buckets,
        hashed=hashed[buckets].astype(np.float16),
        dense=dense,
        bias=np.concatenate([m6.intercept_, m3.intercept_]).astype(np.float32),
        offsets=offsets.astype(np.float32),
        sentiment_alpha=np.float32(alpha),
        neutral_band=np.float32(band),
        meta=np.array(json.dumps(meta)),
    )
    size = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.2f} MB, {buckets.size} buckets) "
          f"in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
