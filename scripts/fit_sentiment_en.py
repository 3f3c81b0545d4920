"""Fit the English sentiment model's weights (analysis/data/sentiment_en_model.json.gz).

Development only: needs scikit-learn and the labelled sets in ``../shared/data/sentiment/``
(see bench/sentiment.py). The run-time analyser (analysis.sentiment_en) never imports
scikit-learn: it reads the weights this script writes and does the sparse dot product itself.

The model: a multinomial logistic regression (negative / neutral / positive) over

- the dense lexicon signals of analysis.sentiment_en.DENSE_FEATURES (TextBlob polarity and
  subjectivity, VADER compound and shares, the public-service lexicon, the previous
  lexicon-only combination and its decision, negation and contrast flags, "!", "?", emoji,
  length, "no sentiment word at all"), standardised and multiplied by DENSE_BOOST (so the L2
  penalty restrains them less than the words);
- word unigrams and bigrams hashed into 2^18 buckets with CRC-32, binary, scaled by
  1 / sqrt(distinct buckets of the text),

with strong L2 regularisation (C below), fitted on both English sets together with sample
weights that make each set count equally and, within a set, each class (BALANCE: the metric
is a macro-F1, and the sets' neutral shares differ, 20 % and 5 %). Bucket weights under PRUNE
in every class are dropped and the rest rounded to 0.001, which keeps the file small
(about 0.15 MB) and the model smooth. bench/sentiment.py cross-validates this very recipe.

    python scripts/fit_sentiment_en.py [--data DIR] [--out FILE] [--c C]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis import sentiment_en  # noqa: E402
from analysis.sentiment_en import CLASSES, EnglishModel  # noqa: E402

# Inverse regularisation strength of the logistic regression (smaller = stronger L2).
C = 0.1
# Weight of the lexicon columns relative to the word buckets (see fit).
DENSE_BOOST = 3.0
# Class balance within each set (see sample_weights).
BALANCE = 1.0
# Bucket weights smaller than this in absolute value (in every class) are dropped.
PRUNE = 0.02
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"
ENGLISH_SETS = (
    ("tweets", "en/tweets_GroundTruth.txt"),
    ("movies", "en/movieReviewSnippets_GroundTruth.txt"),
)


class Features:
    """Features of a list of texts: dense lexicon signals (n x d) and hashed buckets."""

    def __init__(self, dense: np.ndarray, buckets: list[list[int]]) -> None:
        self.dense = dense
        self.buckets = buckets

    def __len__(self) -> int:
        return len(self.buckets)

    def take(self, index: Sequence[int] | np.ndarray) -> Features:
        return Features(self.dense[index], [self.buckets[i] for i in index])

    @staticmethod
    def concat(parts: Sequence[Features]) -> Features:
        return Features(np.vstack([p.dense for p in parts]),
                        [b for p in parts for b in p.buckets])


def extract(texts: Sequence[str], analyser: Any = None) -> Features:
    """The analyser's features of ``texts``."""
    if analyser is None:
        from analysis.sentiment import english_analyser

        analyser = english_analyser()
    dense: list[list[float]] = []
    buckets: list[list[int]] = []
    for text in texts:
        d, b = analyser.features(text)
        dense.append(d)
        buckets.append(b)
    return Features(np.array(dense, dtype=float), buckets)


def design(features: Features, means: np.ndarray, scales: np.ndarray) -> sparse.csr_matrix:
    """The regression's design matrix: standardised dense columns, then the buckets."""
    n = len(features)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for i, bs in enumerate(features.buckets):
        if bs:
            w = 1.0 / np.sqrt(len(bs))
            rows.extend([i] * len(bs))
            cols.extend(bs)
            vals.extend([w] * len(bs))
    hashed = sparse.csr_matrix((vals, (rows, cols)), shape=(n, 1 << sentiment_en.HASH_BITS))
    standardised = sparse.csr_matrix((features.dense - means) / scales)
    return sparse.hstack([standardised, hashed], format="csr")


def fit(features: Features, labels: Sequence[str], sample_weight: np.ndarray | None = None,
        c: float = C, prune: float = PRUNE, dense_boost: float | None = None) -> EnglishModel:
    """Fit the model; returns it in its run-time (pruned, rounded) form."""
    dense_boost = DENSE_BOOST if dense_boost is None else dense_boost
    means = features.dense.mean(axis=0)
    scales = features.dense.std(axis=0)
    scales[scales == 0] = 1.0
    # The lexicon columns are multiplied by DENSE_BOOST, so the same L2 penalty restrains them
    # DENSE_BOOST² times less than the word buckets: lexicon knowledge carries texts whose
    # words the development sets never saw. Folded into the stored scales.
    scales = scales / dense_boost
    x = design(features, means, scales)
    d = features.dense.shape[1]
    # Only the columns of buckets that occur (the others would get weight 0 anyway).
    used = np.unique(x.indices[x.indices >= d])
    x = x[:, np.concatenate([np.arange(d), used])]
    y = np.array([CLASSES.index(label) for label in labels])
    model = LogisticRegression(C=c, max_iter=1000, tol=1e-4)
    model.fit(x, y, sample_weight=sample_weight)
    coef = model.coef_  # (3, d + used buckets), rows in CLASSES order (labels 0, 1, 2)
    dense_w = coef[:, :d].T.tolist()
    bucket_w = coef[:, d:]
    keep = np.nonzero(np.max(np.abs(bucket_w), axis=0) >= prune)[0]
    buckets = {int(used[j] - d): [round(float(v), 3) for v in bucket_w[:, j]] for j in keep}
    return EnglishModel(dense_w, buckets, model.intercept_.tolist(), means.tolist(),
                        scales.tolist())


def predict(model: EnglishModel, features: Features) -> list[str]:
    """Labels by the run-time inference (arg-max of the probabilities, ties to neutral)."""
    out: list[str] = []
    for dense, buckets in zip(features.dense.tolist(), features.buckets, strict=True):
        p = model.probabilities(dense, buckets)
        out.append(sentiment_label(sentiment_en.polarity_of(*p)))
    return out


def sentiment_label(polarity: float) -> str:
    from analysis.sentiment import label_for

    return label_for(polarity)


def sample_weights(label_sets: Sequence[Sequence[str]], balance: float | None = None
                   ) -> np.ndarray:
    """Sample weights giving each set the same total weight (mean weight 1), and within a set
    each class the weight (n_set / (3 n_class)) ** balance (1: classes count equally, as the
    macro-F1 does; 0: as they come)."""
    balance = BALANCE if balance is None else balance
    total = sum(len(labels) for labels in label_sets)
    out: list[np.ndarray] = []
    for labels in label_sets:
        y = np.array(labels)
        w = np.full(len(y), total / (len(label_sets) * len(y)))
        for c in CLASSES:
            mask = y == c
            if mask.any():
                w[mask] *= (len(y) / (len(CLASSES) * mask.sum())) ** balance
        out.append(w)
    return np.concatenate(out)


def write(model: EnglishModel, path: Path) -> None:
    payload = json.dumps(model.to_dict(), separators=(",", ":"), sort_keys=True)
    # No file name and no time in the gzip header: the same weights give the same bytes.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               compresslevel=9, mtime=0) as f:
        f.write(payload.encode())


def main(argv: Sequence[str] | None = None) -> int:
    from bench.sentiment import read_english

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=sentiment_en.MODEL_PATH)
    parser.add_argument("--c", type=float, default=C, help=f"inverse L2 strength (default {C})")
    args = parser.parse_args(argv)
    parts: list[Features] = []
    label_sets: list[list[str]] = []
    for _name, rel in ENGLISH_SETS:
        texts, gold = read_english(args.data / rel)
        parts.append(extract(texts))
        label_sets.append(gold)
    model = fit(Features.concat(parts), [g for gold in label_sets for g in gold],
                sample_weights(label_sets), c=args.c)
    write(model, args.out)
    print(f"wrote {args.out}: {len(model.buckets)} buckets, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
