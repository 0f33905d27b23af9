"""Accuracy targets on a real data set (scikit-learn's digits): int8 PTQ and fake-quant fine-tuning stay
within 1 point of float, and fine-tuning with our fake-quant pass does at least as well as tfmot's QAT."""

import pytest

import digits

pytestmark = pytest.mark.slow


def test_int8_accuracy_targets(K):
    row = digits.accuracy_table(K)
    assert row[digits.FLOAT] > 0.9
    assert row[digits.PTQ] >= row[digits.FLOAT] - 0.01, row
    assert row[digits.OURS] >= row[digits.FLOAT] - 0.01, row
    if digits.TFMOT in row:
        assert row[digits.OURS] >= row[digits.TFMOT], row
