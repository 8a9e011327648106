"""Ensembles from stored test logits, without retraining (report 004, Table 1).

Soft voting averages the members' class probabilities; hard voting takes the majority of
their predicted classes (ties go to the lowest class index). Members are the best k% of
the chosen runs, ranked by validation accuracy.
"""

from __future__ import annotations

import math

import numpy as np

from benchbench.errors import BenchError


def soft_vote(logits: np.ndarray) -> np.ndarray:
    """Predictions from ``logits`` of shape (models, images, classes) by mean probability."""
    shifted = logits - logits.max(axis=2, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=2, keepdims=True)
    return probabilities.mean(axis=0).argmax(axis=1)


def hard_vote(logits: np.ndarray) -> np.ndarray:
    """Predictions by majority of the members' argmax (ties: lowest class index)."""
    votes = logits.argmax(axis=2)  # (models, images)
    classes = logits.shape[2]
    counts = np.stack([(votes == c).sum(axis=0) for c in range(classes)], axis=1)
    return counts.argmax(axis=1)


def best_k(scores: list[float], percent: float) -> list[int]:
    """Indices of the best ``percent``% of ``scores`` (at least one), best first."""
    count = max(1, math.ceil(len(scores) * percent / 100))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return order[:count]


def table(
    logits: list[np.ndarray],
    labels: np.ndarray,
    scores: list[float],
    percents=(10, 20, 30, 40, 50, 100),
) -> list[dict]:
    """One row per k%: members, soft and hard voting accuracy; plus the best single model."""
    if not logits:
        raise BenchError("No runs with stored test logits to ensemble.")
    shapes = {x.shape for x in logits}
    if len(shapes) != 1:
        raise BenchError(
            f"The runs were evaluated on different test sets {sorted(shapes)}: "
            "ensemble runs of one dataset (filter with --where dataset=...)."
        )
    stacked = np.stack(logits)
    best = best_k(scores, 0)[0]
    rows = [
        {
            "k": "best single",
            "models": 1,
            "soft_acc": float((stacked[best].argmax(1) == labels).mean()),
            "hard_acc": float((stacked[best].argmax(1) == labels).mean()),
        }
    ]
    for percent in percents:
        members = best_k(scores, percent)
        chosen = stacked[members]
        rows.append(
            {
                "k": f"{percent:g}%",
                "models": len(members),
                "soft_acc": float((soft_vote(chosen) == labels).mean()),
                "hard_acc": float((hard_vote(chosen) == labels).mean()),
            }
        )
    return rows
