"""The shipped emotion model: a linear layer over hashed n-grams and VADER's scores.

Weights live in ``empathy_bridge/data/emotion_model.npz`` (written by
``scripts/train_emotion_model.py``; about 3 MB). Loading needs only numpy; scoring a batch is one
sparse-dense product (scipy), so the model costs a fraction of VADER per message.

Two heads share the features: six customer-service states (softmax, with per-state decision
offsets tuned on held-out train rows) and negative/neutral/positive (softmax), which is blended
with VADER's compound score into the context's ``sentiment``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from empathy_bridge.analysis.hashing import HashedBatch
from empathy_bridge.analysis.prepare import VADER
from empathy_bridge.schemas import EmotionalState

__all__ = [
    "DENSE_FEATURES",
    "MODEL_PATH",
    "N_FEATURES",
    "STATES",
    "EmotionModel",
    "ModelOutput",
    "load_model",
    "sentiment_from",
    "vader_features",
]

#: Hash buckets of the n-gram features (2**18).
N_FEATURES = 1 << 18
#: State order of the model's first head.
STATES: tuple[EmotionalState, ...] = tuple(EmotionalState)
#: VADER scores appended to the hashed features, in this order.
DENSE_FEATURES: tuple[str, ...] = ("compound", "pos", "neg", "neu")
#: Where the shipped weights live.
MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "emotion_model.npz"

FloatArray = npt.NDArray[np.float64]

_DENSE_OF = itemgetter(*DENSE_FEATURES)


def vader_features(texts: Sequence[str]) -> FloatArray:
    """VADER's compound, pos, neg and neu scores of each text, shape ``(n, 4)``."""
    scores = VADER.polarity_scores
    rows = [_DENSE_OF(scores(text)) for text in texts]
    return np.array(rows, dtype=np.float64).reshape(len(texts), len(DENSE_FEATURES))


def sentiment_from(compound: FloatArray, p3: FloatArray, alpha: float) -> FloatArray:
    """Blend VADER's compound with the sentiment head's ``p(positive) - p(negative)``."""
    blended = alpha * compound + (1.0 - alpha) * (p3[:, 2] - p3[:, 0])
    return np.asarray(np.clip(blended, -1.0, 1.0), dtype=np.float64)


def _softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)


@dataclass(frozen=True)
class ModelOutput:
    """Model readings of a batch: state probabilities, decided state, sentiment."""

    states: FloatArray
    """``(n, 6)`` probabilities in :data:`STATES` order."""
    decision: npt.NDArray[np.int64]
    """Index of the decided state (argmax after the tuned offsets)."""
    sentiment: FloatArray
    """Blended polarity in -1..1."""
    sentiment_probs: FloatArray
    """``(n, 3)`` negative/neutral/positive probabilities."""


class EmotionModel:
    """The loaded weights; :meth:`predict` scores a hashed batch."""

    def __init__(self, arrays: dict[str, Any]) -> None:
        self.n_features = int(arrays["n_features"])
        states = tuple(EmotionalState(s) for s in arrays["states"].tolist())
        if states != STATES:
            raise ValueError(f"model states {states} do not match {STATES}")
        weights = np.zeros((self.n_features, 9), dtype=np.float32)
        weights[arrays["buckets"].astype(np.int64)] = arrays["hashed"].astype(np.float32)
        self.weights = weights
        self.dense = np.asarray(arrays["dense"], dtype=np.float64)
        self.bias = np.asarray(arrays["bias"], dtype=np.float64)
        self.offsets = np.asarray(arrays["offsets"], dtype=np.float64)
        self.alpha = float(arrays["sentiment_alpha"])
        self.neutral_band = float(arrays["neutral_band"])
        self.meta: dict[str, Any] = json.loads(str(arrays["meta"]))

    def logits(self, hashed: HashedBatch, dense: FloatArray) -> FloatArray:
        """Raw scores ``(n, 9)``: six state logits then three sentiment logits."""
        # float32, like the weights: a float64 matrix would make scipy upcast all 2**18 weight
        # rows on every call, which cost more than the rest of the model.
        x = hashed.matrix(np.float32)
        out = np.asarray(x @ self.weights, dtype=np.float64)
        return out + dense @ self.dense + self.bias

    def predict(self, hashed: HashedBatch, dense: FloatArray) -> ModelOutput:
        """Probabilities, decisions and blended sentiment for a batch."""
        z = self.logits(hashed, dense)
        p6 = _softmax(z[:, :6])
        p3 = _softmax(z[:, 6:])
        decision = (np.log(p6 + 1e-12) + self.offsets).argmax(axis=1).astype(np.int64)
        sentiment = sentiment_from(dense[:, 0], p3, self.alpha)
        return ModelOutput(p6, decision, sentiment, p3)


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> EmotionModel:
    """Load (once per path) the model weights shipped in the package.

    :raises FileNotFoundError: naming the script that rebuilds the weights.
    """
    if not path.is_file():
        raise FileNotFoundError(
            f"emotion model weights missing at {path}: reinstall empathy-bridge or rebuild them "
            f"with scripts/train_emotion_model.py"
        )
    with np.load(path, allow_pickle=False) as data:
        return EmotionModel({key: data[key] for key in data.files})
