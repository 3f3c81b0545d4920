"""Fit the English sentiment model's weights (analysis/data/sentiment_en_model.json.gz).

Development only: needs scikit-learn and the labelled sets in ``../shared/data/sentiment/``
(see bench/sentiment.py). The run-time analyser (analysis.sentiment_en) never imports
scikit-learn: it reads the weights this script writes and does the dot product itself.

The model: a ridge regression of the human mean rating m (-4 ... +4) on the few lexicon
signals of analysis.sentiment_en.MODEL_FEATURES (the TextBlob + VADER combination and its
band decision, a negation in a text not found positive, "!", length, "no sentiment word at
all"), standardised. The label is
then read off the predicted rating exactly as the gold labels are defined on m (above 0.5
positive, below -0.5 negative), so no decision band or class prior is fitted: the one
rating scale is what carries from one set to another. Fitted on both English sets with sample
weights that make each set count equally. bench/sentiment.py measures this very recipe fitted
on one set and scored on the other.

    python scripts/fit_sentiment_en.py [--data DIR] [--out FILE] [--alpha ALPHA]
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
from sklearn.linear_model import Ridge

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis import sentiment_en  # noqa: E402
from analysis.sentiment_en import EnglishModel  # noqa: E402

# L2 strength on the standardised signals; with seven of them and thousands of texts it
# hardly matters (1 to 1,000 give the same labels within 0.005 macro-F1).
ALPHA = 10.0
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"
ENGLISH_SETS = (
    ("tweets", "en/tweets_GroundTruth.txt"),
    ("movies", "en/movieReviewSnippets_GroundTruth.txt"),
)


def extract(texts: Sequence[str], analyser: Any = None) -> np.ndarray:
    """The analyser's dense signals of ``texts`` (n x len(DENSE_FEATURES))."""
    if analyser is None:
        from analysis.sentiment import english_analyser

        analyser = english_analyser()
    return np.array([analyser.features(text) for text in texts], dtype=float)


def fit(features: np.ndarray, ratings: Sequence[float],
        sample_weight: np.ndarray | None = None, alpha: float = ALPHA) -> EnglishModel:
    """Fit the regression of ``ratings`` on the model's columns of ``features``."""
    x = features[:, [sentiment_en.DENSE_FEATURES.index(f) for f in sentiment_en.MODEL_FEATURES]]
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales == 0] = 1.0
    model = Ridge(alpha=alpha)
    model.fit((x - means) / scales, np.asarray(ratings, dtype=float), sample_weight=sample_weight)
    return EnglishModel([round(float(w), 6) for w in model.coef_],
                        round(float(model.intercept_), 6), means.tolist(), scales.tolist())


def predict(model: EnglishModel, features: np.ndarray) -> list[str]:
    """Labels by the run-time inference (the predicted rating's polarity, the façade's rule)."""
    from analysis.sentiment import label_for

    inquiry = sentiment_en.DENSE_FEATURES.index("inquiry")
    return ["neutral" if row[inquiry] else label_for(sentiment_en.polarity_of(model.rating(row)))
            for row in features.tolist()]


def sample_weights(sizes: Sequence[int]) -> np.ndarray:
    """Sample weights giving each set (of the given sizes, in order) the same total weight,
    mean weight 1."""
    total = sum(sizes)
    return np.concatenate([np.full(n, total / (len(sizes) * n)) for n in sizes])


def write(model: EnglishModel, path: Path) -> None:
    payload = json.dumps(model.to_dict(), separators=(",", ":"), sort_keys=True)
    # No file name and no time in the gzip header: the same weights give the same bytes.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               compresslevel=9, mtime=0) as f:
        f.write(payload.encode())


def main(argv: Sequence[str] | None = None) -> int:
    from bench.sentiment import read_english_ratings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=sentiment_en.MODEL_PATH)
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help=f"L2 strength (default {ALPHA})")
    args = parser.parse_args(argv)
    parts: list[np.ndarray] = []
    ratings: list[float] = []
    for _name, rel in ENGLISH_SETS:
        texts, means = read_english_ratings(args.data / rel)
        parts.append(extract(texts))
        ratings.extend(means)
    model = fit(np.vstack(parts), ratings, sample_weights([len(p) for p in parts]),
                alpha=args.alpha)
    write(model, args.out)
    weights = ", ".join(f"{n} {w:+.3f}" for n, w in
                        zip(sentiment_en.MODEL_FEATURES, model.weights, strict=True))
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes): intercept "
          f"{model.intercept:+.3f}, {weights}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
