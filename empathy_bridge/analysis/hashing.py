"""Hashed word n-gram features, bit-identical to scikit-learn's ``HashingVectorizer``.

The emotion model is trained offline with ``HashingVectorizer(ngram_range=(1, 2),
alternate_sign=False, norm="l2")`` (see ``scripts/train_emotion_model.py``). At run time we must
produce exactly the same sparse rows without importing scikit-learn, so this module re-implements
its word analyzer (lower-casing, the ``\\b\\w\\w+\\b`` token pattern, space-joined bigrams) and
MurmurHash3 (x86, 32-bit, seed 0). ``tests/analysis/test_analysis_hashing.py`` checks equality
against scikit-learn whenever it is installed.

MurmurHash3 is vectorised with numpy over all n-grams of a batch, because hashing n-grams one
by one in Python would cost more than VADER itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

__all__ = [
    "HashedBatch",
    "hash_batch",
    "hash_words",
    "murmurhash3_32",
    "murmurhash3_32_many",
    "ngrams",
    "tokens",
]

# scikit-learn's default token_pattern, r"(?u)\b\w\w+\b": words of two or more word characters.
# Without the \b anchors the matches are the same: a match can only start at the first character
# of a run of word characters (a one-character run fails and the scan moves past it) and, being
# greedy, ends at the run's end. The scan is a fifth faster without them.
_TOKEN = re.compile(r"\w\w+")

_C1 = np.uint32(0xCC9E2D51)
_C2 = np.uint32(0x1B873593)
_M5 = np.uint32(5)
_N1 = np.uint32(0xE6546B64)
_F1 = np.uint32(0x85EBCA6B)
_F2 = np.uint32(0xC2B2AE35)
_MASK = 0xFFFFFFFF

#: Width in bytes of the first group of spans hashed together (see :func:`_hash_spans`).
_FIRST_WIDTH = 16


def tokens(text: str) -> list[str]:
    """Lower-cased tokens of two or more word characters (scikit-learn's word tokenizer)."""
    return _TOKEN.findall(text.lower())


def ngrams(words: Sequence[str]) -> list[str]:
    """Unigrams followed by space-joined bigrams, in scikit-learn's order."""
    out = list(words)
    out.extend([f"{a} {b}" for a, b in itertools.pairwise(words)])
    return out


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & _MASK


def murmurhash3_32(data: bytes, seed: int = 0) -> int:
    """Signed MurmurHash3 x86 32-bit of ``data`` (the reference, one key at a time)."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & _MASK
    n = len(data)
    blocks = n // 4
    for i in range(blocks):
        k = int.from_bytes(data[4 * i : 4 * i + 4], "little")
        k = (_rotl((k * c1) & _MASK, 15) * c2) & _MASK
        h = (_rotl(h ^ k, 13) * 5 + 0xE6546B64) & _MASK
    tail = data[4 * blocks :]
    k = 0
    for j in range(len(tail) - 1, -1, -1):
        k = (k << 8) | tail[j]
    if tail:
        k = (_rotl((k * c1) & _MASK, 15) * c2) & _MASK
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h - (1 << 32) if h & 0x80000000 else h


def _rotl_np(x: npt.NDArray[np.uint32], r: int) -> npt.NDArray[np.uint32]:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _murmur_padded(
    blocks: npt.NDArray[np.uint32], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint32]:
    """Hash rows of zero-padded little-endian 32-bit blocks; ``lengths`` in bytes."""
    h = np.zeros(blocks.shape[0], dtype=np.uint32)
    full = lengths // 4
    with np.errstate(over="ignore"):
        for i in range(blocks.shape[1]):
            k = _rotl_np(blocks[:, i] * _C1, 15) * _C2
            hk = h ^ k
            # Padding bytes are zero, so the tail block is the same word with its high bytes
            # clear, mixed as a tail (h ^ k); a block past the end is all zero, k is 0 and
            # h ^ k leaves h as it is. Only full blocks take the whole round.
            h = np.where(full > i, _rotl_np(hk, 13) * _M5 + _N1, hk)
        h ^= lengths.astype(np.uint32)
        h ^= h >> np.uint32(16)
        h *= _F1
        h ^= h >> np.uint32(13)
        h *= _F2
        h ^= h >> np.uint32(16)
    return h


def _hash_spans(
    buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint32]:
    """Hash the byte spans ``buf[start:start+length]``."""
    n = starts.size
    out = np.empty(n, dtype=np.uint32)
    if n == 0:
        return out
    remaining = np.ones(n, dtype=bool)
    longest = int(lengths.max())
    width = _FIRST_WIDTH
    while True:
        # Spans are hashed in groups of similar length (widths doubling), so the padded matrix
        # of a group is at most twice the bytes of its spans, whatever one pasted blob measures.
        last = width >= longest
        sel = np.flatnonzero(remaining if last else remaining & (lengths <= width))
        remaining[sel] = False
        width *= 2
        if sel.size == 0:
            if last:
                break
            continue
        lens = lengths[sel]
        w = max(4, -(-int(lens.max()) // 4) * 4)
        if buf.size < w + int(starts[sel].max()):
            buf = np.concatenate([buf, np.zeros(w, dtype=np.uint8)])
        # A strided window view gathers each span's first w bytes without an index matrix.
        padded = np.lib.stride_tricks.sliding_window_view(buf, w)[starts[sel]]
        # Bytes past the span belong to neighbouring text; zero them, as MurmurHash pads
        # (multiplying by the keep-mask costs half of a boolean-index assignment).
        padded *= np.arange(w, dtype=np.int64)[None, :] < lens[:, None]
        blocks = padded.view("<u4")
        out[sel] = _murmur_padded(blocks, lens)
        if last:
            break
    return out


def murmurhash3_32_many(keys: Sequence[bytes]) -> npt.NDArray[np.int32]:
    """Signed MurmurHash3 (seed 0) of many byte strings at once; same values as the reference."""
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    starts = np.zeros(len(keys), dtype=np.int64)
    if len(keys) > 1:
        np.cumsum(lengths[:-1], out=starts[1:])
    buf = np.frombuffer(b"".join(keys) + bytes(4), dtype=np.uint8)
    return _hash_spans(buf, starts, lengths).view(np.int32)


@dataclass(frozen=True)
class HashedBatch:
    """The hashed n-grams of a batch: one ``(row, column)`` pair per n-gram occurrence.

    :meth:`matrix` sums repeats and l2-normalises each row, exactly like
    ``HashingVectorizer(norm="l2")``. ``n_tokens`` is the number of n-grams each row had
    (0 means the model saw nothing).
    """

    rows: npt.NDArray[np.int64]
    cols: npt.NDArray[np.int64]
    n_rows: int
    n_features: int
    n_tokens: npt.NDArray[np.int64]

    def matrix(self, dtype: type[np.floating[Any]] = np.float32) -> sp.csr_matrix:
        """The ``(n_rows, n_features)`` CSR matrix of l2-normalised n-gram counts."""
        ones = np.ones(self.rows.size, dtype=dtype)
        x = sp.csr_matrix((ones, (self.rows, self.cols)), shape=(self.n_rows, self.n_features))
        # Repeats (a repeated word, or two n-grams sharing a bucket) add up, as in scikit-learn;
        # summing them in CSR form is cheaper than sorting the pairs with numpy.unique.
        x.sum_duplicates()
        lengths = np.diff(x.indptr)
        row_of = np.repeat(np.arange(self.n_rows), lengths)
        norms = np.sqrt(np.bincount(row_of, weights=x.data * x.data, minlength=self.n_rows))
        x.data = (x.data / norms[row_of]).astype(dtype)
        return x


def _columns(hashes: npt.NDArray[np.int32], n_features: int) -> npt.NDArray[np.int64]:
    h = hashes.astype(np.int64)
    # scikit-learn maps abs(-2**31) to (2**31 - 1 - (n_features - 1)) % n_features.
    cols = np.abs(h) % n_features
    cols[h == -(2**31)] = (2**31 - 1 - (n_features - 1)) % n_features
    return cols


def hash_batch(texts: Sequence[str], n_features: int) -> HashedBatch:
    """Hash the word uni- and bigrams of each text into ``n_features`` l2-normalised columns."""
    return hash_words([_TOKEN.findall(text.lower()) for text in texts], n_features)


def hash_words(word_lists: Sequence[Sequence[str]], n_features: int) -> HashedBatch:
    """Like :func:`hash_batch`, from each text's :func:`tokens`.

    Each text's tokens are joined by single spaces into one batch buffer, so a bigram is the
    contiguous span from the start of its first word to the end of its second: no n-gram
    string is ever built in Python.
    """
    texts = word_lists
    n_words = np.fromiter(map(len, word_lists), dtype=np.int64, count=len(word_lists))
    flat = list(itertools.chain.from_iterable(word_lists))
    joined = " ".join(flat)
    # Byte lengths: a word's characters when the batch is ASCII (the usual case, no encoding).
    if joined.isascii():
        lens = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
    else:
        lens = np.fromiter(
            (len(w) if w.isascii() else len(w.encode("utf-8")) for w in flat),
            dtype=np.int64,
            count=len(flat),
        )
    # Every token is followed by one separator byte (a space, also between texts).
    starts = np.zeros(lens.size, dtype=np.int64)
    if lens.size > 1:
        np.cumsum(lens[:-1] + 1, out=starts[1:])
    buf = np.frombuffer((joined + " " * 8).encode("utf-8"), dtype=np.uint8)
    word_rows = np.repeat(np.arange(len(texts), dtype=np.int64), n_words)
    # A bigram joins word j and j+1 of the same text.
    pair = np.flatnonzero(word_rows[:-1] == word_rows[1:])
    big_lens = lens[pair] + 1 + lens[pair + 1]
    all_starts = np.concatenate([starts, starts[pair]])
    all_lens = np.concatenate([lens, big_lens])
    rows = np.concatenate([word_rows, word_rows[pair]])
    counts = np.bincount(rows, minlength=len(texts)).astype(np.int64)
    cols = _columns(_hash_spans(buf, all_starts, all_lens).view(np.int32), n_features)
    return HashedBatch(rows, cols, len(texts), n_features, counts)
