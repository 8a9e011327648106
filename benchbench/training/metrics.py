"""Evaluation: logits on a split, confusion matrix, per-class commission and omission errors."""

from __future__ import annotations

import numpy as np


def confusion(true_labels, predicted, num_classes: int) -> np.ndarray:
    """Counts with rows = true class and columns = predicted class (scikit-learn's layout)."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(true_labels, predicted, labels=list(range(num_classes)))


def commission_omission(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class errors as report 000 defines them, for ``matrix[true, predicted]``.

    commission_i: share of the images *assigned to* class i that belong elsewhere
    (1 - precision); omission_i: share of the images *of* class i assigned elsewhere
    (1 - recall). A class never predicted (or absent) has NaN.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    diagonal = np.diag(matrix)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted_as = matrix.sum(axis=0)
        actually = matrix.sum(axis=1)
        commission = np.where(predicted_as > 0, (predicted_as - diagonal) / predicted_as, np.nan)
        omission = np.where(actually > 0, (actually - diagonal) / actually, np.nan)
    return commission, omission
