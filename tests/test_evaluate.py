import numpy as np

from benchbench.metrics import commission_omission
from benchbench.metrics import confusion


def test_known_matrix_gives_known_commission_and_omission():
    # rows: true class, columns: predicted
    matrix = np.array([[8, 2, 0], [1, 6, 3], [1, 0, 9]])
    commission, omission = commission_omission(matrix)
    # class 0: predicted 10 times, 8 right → 0.2; is 10 images, 8 found → 0.2
    np.testing.assert_allclose(commission, [2 / 10, 2 / 8, 3 / 12])
    np.testing.assert_allclose(omission, [2 / 10, 4 / 10, 1 / 10])


def test_confusion_uses_rows_for_truth_and_keeps_absent_classes():
    matrix = confusion([0, 0, 1], [0, 1, 1], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [0, 0, 0]]
    commission, omission = commission_omission(matrix)
    assert np.isnan(commission[2]) and np.isnan(omission[2])
