"""Classification figures and the detection decision over consecutive windows.

All rates are fractions in [0, 1]. Definitions used in every model card:

- sensitivity = TP / (TP + FN) of the positive class, specificity = TN / (TN + FP),
  balanced accuracy = (sensitivity + specificity) / 2;
- Cohen's kappa = (p_o - p_e) / (1 - p_e) (agreement beyond chance);
- **persistence** "k of n": the detector fires at a window when at least ``k`` of the
  last ``n`` window decisions (this one included) are positive; k = n is the device's
  responsive policy rule (score >= threshold for ``onset_ms`` = (n - 1) x hop);
- a **false alarm** is a rising edge of the persistence output on non-seizure data; the
  rate is alarms / hours of data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) counts, rows = truth, columns = prediction."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return m


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    t = np.asarray(y_true)
    return float(np.mean(t == np.asarray(y_pred))) if t.size else float("nan")


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


@dataclass(frozen=True)
class Binary:
    """A two-class result (positive = the event to detect)."""

    tp: int
    fn: int
    tn: int
    fp: int

    @classmethod
    def of(cls, positive_true: np.ndarray, positive_pred: np.ndarray) -> Binary:
        t = np.asarray(positive_true, bool)
        p = np.asarray(positive_pred, bool)
        return cls(
            tp=int(np.sum(t & p)),
            fn=int(np.sum(t & ~p)),
            tn=int(np.sum(~t & ~p)),
            fp=int(np.sum(~t & p)),
        )

    @property
    def sensitivity(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def balanced_accuracy(self) -> float:
        return (self.sensitivity + self.specificity) / 2

    @property
    def accuracy(self) -> float:
        return _ratio(self.tp + self.tn, self.tp + self.tn + self.fp + self.fn)

    def to_json(self) -> dict[str, Any]:
        return {
            "sensitivity": self.sensitivity,
            "specificity": self.specificity,
            "balanced_accuracy": self.balanced_accuracy,
            "accuracy": self.accuracy,
            "tp": self.tp,
            "fn": self.fn,
            "tn": self.tn,
            "fp": self.fp,
        }


def cohen_kappa(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    m = confusion(y_true, y_pred, n_classes).astype(np.float64)
    n = m.sum()
    if n == 0:
        return float("nan")
    po = np.trace(m) / n
    pe = float(np.sum(m.sum(0) * m.sum(1))) / (n * n)
    return float((po - pe) / (1 - pe)) if pe < 1 else 1.0


def persistence(positive: np.ndarray, k: int, n: int) -> np.ndarray:
    """Boolean: at least ``k`` of the last ``n`` decisions (inclusive) are positive.

    The first n - 1 windows look at what exists so far (fewer than n decisions).
    """
    if not 1 <= k <= n:
        raise ValueError("need 1 <= k <= n")
    p = np.asarray(positive, bool).astype(np.int64)
    c = np.concatenate([[0], np.cumsum(p)])
    idx = np.arange(1, p.size + 1)
    window = c[idx] - c[np.maximum(idx - n, 0)]
    return window >= k


def rising_edges(fired: np.ndarray) -> int:
    """Number of False -> True transitions (a run starting at index 0 counts)."""
    f = np.asarray(fired, bool)
    if f.size == 0:
        return 0
    return int(f[0]) + int(np.sum(f[1:] & ~f[:-1]))


def first_true(fired: np.ndarray) -> int | None:
    idx = np.flatnonzero(np.asarray(fired, bool))
    return int(idx[0]) if idx.size else None
