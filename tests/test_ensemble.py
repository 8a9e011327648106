import numpy as np
import pytest

from benchbench.analysis.ensemble import best_k
from benchbench.analysis.ensemble import hard_vote
from benchbench.analysis.ensemble import soft_vote
from benchbench.analysis.ensemble import table
from benchbench.errors import BenchError


def one_hot_logits(predictions, classes=3, confidence=2.0):
    return np.eye(classes)[predictions] * confidence


def test_soft_and_hard_voting_on_hand_made_logits():
    labels = np.array([0, 1, 2, 0])
    # Two hesitant models and one very confident one: votes and probabilities disagree.
    a = one_hot_logits([0, 1, 2, 1], confidence=0.5)
    b = one_hot_logits([0, 1, 1, 1], confidence=0.5)
    c = one_hot_logits([0, 2, 2, 0], confidence=20.0)
    logits = np.stack([a, b, c])
    assert hard_vote(logits).tolist() == [0, 1, 2, 1]  # majority: 3/4 right
    assert soft_vote(logits).tolist() == [0, 2, 2, 0]  # c's confidence wins: 3/4 right
    rows = table([a, b, c], labels, scores=[0.9, 0.8, 0.7], percents=(34, 100))
    assert rows[0] == {"k": "best single", "models": 1, "soft_acc": 0.75, "hard_acc": 0.75}
    assert rows[1]["models"] == 2  # ceil(3 * 34%) = 2: a and b
    assert rows[1]["hard_acc"] == 0.5  # a+b tie on image 2 -> lowest class (1): wrong
    assert rows[2] == {"k": "100%", "models": 3, "soft_acc": 0.75, "hard_acc": 0.75}


def test_hard_vote_ties_go_to_the_lowest_class():
    logits = np.stack([one_hot_logits([2]), one_hot_logits([1])])
    assert hard_vote(logits).tolist() == [1]


def test_best_k_ranks_by_score():
    assert best_k([0.5, 0.9, 0.7, 0.9], 50) == [1, 3]
    assert best_k([0.5], 10) == [0]


def test_different_test_sets_are_refused():
    with pytest.raises(BenchError, match="different test sets"):
        table([np.zeros((4, 3)), np.zeros((5, 3))], np.zeros(4), [1, 2])
