"""The GoEmotions evaluation data and its mapping onto our six states and three sentiments.

Used by the training script, the accuracy benchmark and the model's accuracy test; nothing at
run time reads the data. The mapping is the one in the data's README: a row belongs to a state
when *all* of its labels map to that one state, otherwise it is left out.

The data lives outside the repository (``../shared/data/goemotions`` next to the checkout, or
wherever ``EMPATHY_BRIDGE_GOEMOTIONS`` points); it is never committed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from empathy_bridge.schemas import EmotionalState

__all__ = [
    "DATA_ENV",
    "LABEL_TO_SENTIMENT",
    "LABEL_TO_STATE",
    "SENTIMENTS",
    "Row",
    "default_data_dir",
    "load_split",
    "sentiment_of",
    "state_of",
]

#: Environment variable naming the folder holding ``train.tsv``, ``dev.tsv`` and ``labels.txt``.
DATA_ENV = "EMPATHY_BRIDGE_GOEMOTIONS"

_STATE_LABELS: dict[EmotionalState, tuple[str, ...]] = {
    EmotionalState.FRUSTRATION: ("anger", "annoyance", "disapproval", "disgust"),
    EmotionalState.CONFUSION: ("confusion",),
    EmotionalState.ANXIETY: ("fear", "nervousness"),
    EmotionalState.DISAPPOINTMENT: ("disappointment", "sadness", "grief"),
    EmotionalState.SATISFACTION: (
        "gratitude", "admiration", "approval", "joy", "relief", "love", "excitement",
        "amusement", "pride",
    ),
    EmotionalState.NEUTRAL: ("neutral",),
}

#: GoEmotions label -> customer-service state (labels absent here belong to no state).
LABEL_TO_STATE: dict[str, EmotionalState] = {
    label: state for state, labels in _STATE_LABELS.items() for label in labels
}

#: The three sentiment classes, in the order the model's sentiment head uses.
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

_SENTIMENT_LABELS: dict[str, tuple[str, ...]] = {
    "positive": (
        "amusement", "excitement", "joy", "love", "desire", "optimism", "caring", "pride",
        "admiration", "gratitude", "relief", "approval",
    ),
    "negative": (
        "fear", "nervousness", "remorse", "embarrassment", "disappointment", "sadness", "grief",
        "disgust", "anger", "annoyance", "disapproval",
    ),
    "ambiguous": ("realization", "surprise", "curiosity", "confusion"),
    "neutral": ("neutral",),
}

#: GoEmotions label -> sentiment group (GoEmotions' own grouping, plus ``neutral``).
LABEL_TO_SENTIMENT: dict[str, str] = {
    label: group for group, labels in _SENTIMENT_LABELS.items() for label in labels
}


@dataclass(frozen=True)
class Row:
    """One labelled comment."""

    text: str
    labels: tuple[str, ...]


def state_of(labels: Iterable[str]) -> EmotionalState | None:
    """The state all ``labels`` map to, or ``None`` when they map to none or to several."""
    states = {LABEL_TO_STATE.get(label) for label in labels}
    if len(states) == 1:
        return states.pop()
    return None


def sentiment_of(labels: Iterable[str]) -> str | None:
    """``negative``/``neutral``/``positive`` when all labels agree; ambiguous rows give ``None``."""
    groups = {LABEL_TO_SENTIMENT.get(label) for label in labels}
    if len(groups) == 1:
        group = groups.pop()
        if group in SENTIMENTS:
            return group
    return None


def default_data_dir() -> Path:
    """``$EMPATHY_BRIDGE_GOEMOTIONS``, else ``../shared/data/goemotions`` beside the checkout.

    The checkout root is found from this file (``<root>/empathy_bridge/analysis/``), so the
    default works whatever the current directory is.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    root = Path(__file__).resolve().parents[2]
    return (root.parent / "shared" / "data" / "goemotions").resolve()


def load_split(data_dir: Path, split: str) -> list[Row]:
    """Rows of ``<data_dir>/<split>.tsv`` (``text<TAB>label ids<TAB>comment id``).

    :raises FileNotFoundError: with a message saying where the data was looked for.
    """
    labels_file, split_file = data_dir / "labels.txt", data_dir / f"{split}.tsv"
    if not labels_file.is_file() or not split_file.is_file():
        raise FileNotFoundError(
            f"GoEmotions data not found in {data_dir} (need labels.txt and {split}.tsv): pass "
            f"--data or set {DATA_ENV}"
        )
    names = labels_file.read_text(encoding="utf-8").split()
    rows = []
    with split_file.open(encoding="utf-8") as handle:
        for line in handle:
            # Split on TAB only: the text contains raw quotes.
            text, ids, _ = line.rstrip("\n").split("\t")
            rows.append(Row(text, tuple(names[int(i)] for i in ids.split(","))))
    return rows
