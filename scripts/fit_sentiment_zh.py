"""Fit the Chinese sentiment model's weights (analysis/data/sentiment_zh_model.json.gz).

Development only: needs scikit-learn and the labelled sets in ``../shared/data/sentiment/``
(see bench/sentiment.py). The run-time analyser (analysis.sentiment_zh) never imports
scikit-learn: it reads the weights this script writes and sums them itself.

The model: a logistic regression (negative / positive) over

- the dense lexicon features of analysis.sentiment_zh.DENSE_FEATURES (the hand lexicon's
  score with its negation, degree and contrast rules, its sign, "no sentiment word"),
  standardised and multiplied by DENSE_BOOST (so the L2 penalty restrains them less than
  the sparse features: the lexicon carries texts whose words the reviews never had);
- three sparse blocks, each binary and scaled by 1 / sqrt(its size in the text): character
  1-3-grams, jieba words, and words in the scope of a negator or a degree adverb;

fitted on every labelled Chinese review (the ten shopping domains and ChnSentiCorp, each text
once) and on short phrases built from the hand lexicon (lexicon_phrases), with sample weights
that give each domain the same total weight and, within a domain, each class
(BALANCE_DOMAINS: the domains run from 575 to 10,000 reviews, and the one the model meets in
use is none of them). Features seen in fewer than MIN_DF training texts are left out; weights
under PRUNE are dropped and the rest rounded to 0.001. bench/sentiment.py
refits this very recipe (``fit``) for its leave-one-domain-out figures.

    python scripts/fit_sentiment_zh.py [--data DIR] [--out FILE] [--c C]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analysis import sentiment_zh  # noqa: E402
from analysis.sentiment_zh import ChineseModel  # noqa: E402

# Inverse regularisation strength of the logistic regression (smaller = stronger L2).
C = 1.0
# Weight of the lexicon columns relative to the sparse ones (see fit).
DENSE_BOOST = 3.0
# Features in fewer training texts than this are left out.
MIN_DF = 2
# Sparse weights smaller than this in absolute value are dropped.
PRUNE = 0.01
# Each domain the same total weight, each class within it too (else: each text weight 1).
BALANCE_DOMAINS = True
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "sentiment"
LABELS = ("negative", "positive")
# Short phrases made from the hand lexicon (see lexicon_phrases): the word after each degree
# adverb or negator ("不差", "太慢"), and PHRASES_PER_WORD more drawn per word (seeded): a
# subject, a degree adverb or a negator, the word, an ending.
PHRASE_SUBJECTS = ("", "", "", "服务", "工作人员", "态度", "这次", "感觉", "整体")
PHRASE_MODIFIERS = ("", "", "很", "非常", "太", "有点", "比较", "挺", "真", "特别", "不", "不太",
                    "不是很", "没有", "一点都不", "并不")
PHRASE_ENDS = ("", "", "了", "！", "。", "啊")
PHRASES_PER_WORD = 6
PHRASES_DOMAIN = "lexicon phrases"


class Features:
    """Features of a list of texts, and the sparse blocks as one matrix over all of them
    (columns: every feature name seen, block-scaled values)."""

    def __init__(self, dense: np.ndarray, blocks: list[tuple[set[str], ...]],
                 has_word: list[bool], asking: list[bool] | None = None) -> None:
        self.dense = dense
        self.blocks = blocks
        self.has_word = has_word
        # Inquiries and suggestions without a sentiment word: neutral at run time.
        self.asking = asking if asking is not None else [False] * len(has_word)
        self.names: list[str] = []
        index: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        for i, text_blocks in enumerate(blocks):
            for block in text_blocks:
                if not block:
                    continue
                value = 1.0 / np.sqrt(max(len(block), sentiment_zh.BLOCK_MIN))
                # Sorted: a set's order follows the process's string hashes, and the columns'
                # order moves the solver's sums, so the same data gave other weights each run.
                for name in sorted(block):
                    j = index.get(name)
                    if j is None:
                        j = index[name] = len(self.names)
                        self.names.append(name)
                    rows.append(i)
                    cols.append(j)
                    vals.append(value)
        self.matrix = sparse.csr_matrix((np.array(vals), (np.array(rows), np.array(cols))),
                                        shape=(len(blocks), len(self.names)))

    def __len__(self) -> int:
        return len(self.blocks)


def extract(texts: Sequence[str], analyser: Any = None) -> Features:
    """The analyser's features of ``texts``."""
    if analyser is None:
        from analysis.sentiment import chinese_analyser

        analyser = chinese_analyser()
    dense: list[list[float]] = []
    blocks: list[tuple[set[str], ...]] = []
    has_word: list[bool] = []
    asking: list[bool] = []
    for text in texts:
        d, b, s, asks = analyser.analyse(text)
        dense.append(d)
        blocks.append(b)
        has_word.append(s != 0.0)
        asking.append(asks)
    return Features(np.array(dense, dtype=float), blocks, has_word, asking)


def lexicon_phrases(analyser: Any = None) -> tuple[list[str], list[str]]:
    """(texts, labels): short phrases built from the hand lexicon's words, labelled by the
    lexicon's own rules (negation, degree), those the rules score near 0 left out.

    The reviews teach the model long texts about products; these teach it what a short
    comment of a word or two with 不, 没有 or 太 means ("不差", "态度不太好"), which the
    n-grams of reviews get wrong ("差" is one of their most negative characters). They are
    one more domain in the sample weights, so they count as much as one domain of reviews."""
    import random

    analyser = analyser or sentiment_zh.ChineseAnalyser()
    words = sorted(sentiment_zh.read_lexicon([sentiment_zh.HAND_LEXICON]).words)
    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    for word in words:
        # Every modifier once, so that whether the fit meets "不差" or "太慢" is no matter of
        # chance; then each word's own draws (a word added to the lexicon adds its phrases and
        # leaves every other word's as they were).
        rng = random.Random(f"phrases:{word}")
        drawn = [rng.choice(PHRASE_SUBJECTS) + rng.choice(PHRASE_MODIFIERS) + word
                 + rng.choice(PHRASE_ENDS) for _ in range(PHRASES_PER_WORD)]
        for text in [*(modifier + word for modifier in dict.fromkeys(PHRASE_MODIFIERS)),
                     *drawn]:
            if text in seen:
                continue
            seen.add(text)
            polarity = analyser.lexicon_polarity(text)
            if abs(polarity) >= 0.1:
                texts.append(text)
                labels.append("positive" if polarity > 0 else "negative")
    return texts, labels


def sample_weights(labels: Sequence[str], domains: Sequence[str]) -> np.ndarray:
    """Each domain the same total weight and each class within it (mean weight 1)."""
    if not BALANCE_DOMAINS:
        return np.ones(len(labels))
    counts = Counter(zip(domains, labels, strict=True))
    cells = len(counts)
    return np.array([len(labels) / (cells * counts[(d, y)])
                     for d, y in zip(domains, labels, strict=True)])


def fit(features: Features, rows: Sequence[int], labels: Sequence[str],
        domains: Sequence[str], c: float = C) -> ChineseModel:
    """Fit on the texts ``rows`` of ``features`` (their labels and domains in the same
    order); returns the model in its run-time (pruned, rounded) form."""
    index = np.asarray(rows)
    x = features.matrix[index]
    seen = np.bincount(x.indices, minlength=x.shape[1])
    keep = np.nonzero(seen >= MIN_DF)[0]
    x = x[:, keep]
    dense = features.dense[index]
    means = dense.mean(axis=0)
    scales = dense.std(axis=0)
    scales[scales == 0] = 1.0
    # The lexicon columns are multiplied by DENSE_BOOST, so the same L2 penalty restrains them
    # DENSE_BOOST² times less than the sparse ones. Folded into the stored scales.
    scales = scales / DENSE_BOOST
    x = sparse.hstack([sparse.csr_matrix((dense - means) / scales), x], format="csr")
    y = np.array([LABELS.index(label) for label in labels])
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000)
    model.fit(x, y, sample_weight=sample_weights(labels, domains))
    coef = model.coef_[0]
    d = dense.shape[1]
    weights = {features.names[keep[j]]: round(float(w), 3)
               for j, w in enumerate(coef[d:]) if abs(w) >= PRUNE}
    return ChineseModel(coef[:d].tolist(), weights, float(model.intercept_[0]),
                        means.tolist(), scales.tolist())


def polarities(model: ChineseModel, features: Features, rows: Sequence[int]) -> list[float]:
    """Polarities by the run-time inference (what ChineseAnalyser.polarity gives for a text
    with Chinese characters)."""
    out: list[float] = []
    for i in rows:
        if features.asking[i]:
            out.append(0.0)
            continue
        polarity = sentiment_zh.polarity_from(model.logit(features.dense[i].tolist(),
                                                          features.blocks[i]))
        no_evidence = not features.has_word[i] and abs(polarity) <= sentiment_zh.MARGIN
        out.append(0.0 if no_evidence else polarity)
    return out


def write(model: ChineseModel, path: Path) -> None:
    payload = json.dumps(model.to_dict(), separators=(",", ":"), sort_keys=True,
                         ensure_ascii=False)
    # No file name and no time in the gzip header: the same weights give the same bytes.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                               compresslevel=9, mtime=0) as f:
        f.write(payload.encode())


def training_set(data: Path) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, domains): the ten shopping domains and ChnSentiCorp, each text once
    (without the lexicon phrases)."""
    from bench.sentiment import HOTELS, SHOPPING, read_reviews

    texts: list[str] = []
    labels: list[str] = []
    domains: list[str] = []
    seen: set[str] = set()
    for r in (*read_reviews(data / SHOPPING), *read_reviews(data / HOTELS, "ChnSentiCorp")):
        if r.text not in seen:
            seen.add(r.text)
            texts.append(r.text)
            labels.append(r.label)
            domains.append(r.domain)
    return texts, labels, domains


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=sentiment_zh.MODEL_PATH)
    parser.add_argument("--c", type=float, default=C, help=f"inverse L2 strength (default {C})")
    args = parser.parse_args(argv)
    texts, labels, domains = training_set(args.data)
    # The analyser of the current lexicon, without any model (its features need none).
    analyser = sentiment_zh.ChineseAnalyser()
    phrases, phrase_labels = lexicon_phrases(analyser)
    texts += phrases
    labels += phrase_labels
    domains += [PHRASES_DOMAIN] * len(phrases)
    features = extract(texts, analyser)
    model = fit(features, range(len(texts)), labels, domains, c=args.c)
    write(model, args.out)
    print(f"wrote {args.out}: {len(model.weights)} weights, "
          f"{args.out.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
