"""The run-time featurizer must equal scikit-learn's HashingVectorizer used in training."""

from __future__ import annotations

import numpy as np
import pytest

from empathy_bridge.analysis.hashing import (
    hash_batch,
    murmurhash3_32,
    murmurhash3_32_many,
    ngrams,
    tokens,
)
from empathy_bridge.analysis.prepare import model_text

# Values of sklearn.utils.murmurhash3_32(key, seed=0), fixed here so the test runs without it.
KNOWN = {
    b"": 0,
    b"a": 1009084850,
    b"ab": -1681926305,
    b"abc": -1277324294,
    b"abcd": 1139631978,
    b"hello": 613153351,
    b"third time": 1438438265,
    "café".encode(): 605818632,
    "😡 face".encode(): 853678454,
}

TEXTS = [
    "This is the THIRD time I ask: where is my refund?!",
    "",
    "!!!",
    "a b c",  # single letters are not tokens
    "naïve café über straße",
    "日本語のテキスト and English",
    "I waited 3 weeks 😡😡",
    "word " * 50,
    "x" * 300 + " long token then short",
    "[NAME] said it's fine, thanks!",
]


@pytest.mark.parametrize(("key", "expected"), KNOWN.items())
def test_reference_murmurhash_matches_known_values(key: bytes, expected: int) -> None:
    assert murmurhash3_32(key) == expected


def test_vectorised_murmurhash_matches_reference() -> None:
    keys = list(KNOWN) + [g.encode() for t in TEXTS for g in ngrams(tokens(t))]
    # Every length up to 70 bytes: each tail size, in every width group of the batch hasher.
    keys += [bytes((7 * n + 3 * i) % 256 for i in range(n)) for n in range(71)]
    got = murmurhash3_32_many(keys)
    assert got.tolist() == [murmurhash3_32(k) for k in keys]


def test_tokens_and_ngrams_follow_sklearn_word_analyzer() -> None:
    assert tokens("I can't BELIEVE it, a b") == ["can", "believe", "it"]
    assert ngrams(["a1", "b2", "c3"]) == ["a1", "b2", "c3", "a1 b2", "b2 c3"]


def test_hash_batch_equals_sklearn_hashing_vectorizer() -> None:
    text_mod = pytest.importorskip(
        "sklearn.feature_extraction.text", reason="scikit-learn is needed only for training"
    )
    texts = [model_text(t) for t in TEXTS]
    n_features = 1 << 18
    expected = text_mod.HashingVectorizer(
        n_features=n_features, ngram_range=(1, 2), alternate_sign=False, norm="l2"
    ).transform(texts)
    got = hash_batch(texts, n_features)
    dense = got.matrix(np.float64).toarray()
    assert got.n_rows == len(texts)
    assert np.array_equal(dense != 0, expected.toarray() != 0)
    assert np.allclose(dense, expected.toarray(), rtol=0, atol=1e-12)


def test_hash_batch_counts_ngrams_per_row() -> None:
    got = hash_batch(["one two three", "", "solo"], 1 << 10)
    assert got.n_tokens.tolist() == [5, 0, 1]
    assert set(got.rows.tolist()) == {0, 2}


def test_one_huge_token_among_many_long_ones_hashes_in_bounded_memory() -> None:
    # 2,000 tokens of ~100 bytes and one of 300 KB: width groups keep the padded matrices small.
    words = [f"{n:04d}" + "x" * 96 for n in range(2000)] + ["y" * 300_000]
    keys = [w.encode() for w in words[:3]] + [words[-1].encode()]
    got = hash_batch([" ".join(words)], 1 << 18)
    assert got.n_tokens.tolist() == [2 * len(words) - 1]
    assert murmurhash3_32_many(keys).tolist() == [murmurhash3_32(k) for k in keys]
