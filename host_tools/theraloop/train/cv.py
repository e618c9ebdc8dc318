"""Cross-validation by segment: the windows of one segment are never on both sides.

Windows cut from one recording segment are strongly correlated, so splitting windows at
random would leak a segment's signal into its own test fold and inflate every figure.
:func:`segment_folds` is a stratified k-fold over *segments* (each class's segments are
shuffled with a fixed seed and dealt round-robin into the folds, so every fold has the
same class mix up to one segment); :func:`window_split` maps a fold onto the windows
through each window's segment index, and :func:`check_disjoint` asserts the property.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Fold:
    """Indices of the training and test *segments* of one fold."""

    index: int
    train: np.ndarray
    test: np.ndarray


def segment_folds(labels: np.ndarray, n_folds: int, seed: int) -> list[Fold]:
    """Stratified k-fold over segments; ``labels`` has one entry per segment.

    Every segment is in exactly one test fold. Deterministic for a given seed.
    """
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError("labels must be one entry per segment")
    if n_folds < 2:
        raise ValueError("n_folds must be >= 2")
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() < n_folds:
        raise ValueError(
            f"{n_folds} folds need at least {n_folds} segments per class (smallest: {counts.min()})"
        )
    rng = np.random.default_rng(seed)
    fold_of = np.empty(y.size, dtype=np.int64)
    offset = 0
    for c in classes:
        members = np.flatnonzero(y == c)
        members = members[rng.permutation(members.size)]
        # Continue the round-robin where the previous class stopped, so that fold
        # sizes differ by at most one overall.
        fold_of[members] = (np.arange(members.size) + offset) % n_folds
        offset = (offset + members.size) % n_folds
    folds = []
    for k in range(n_folds):
        test = np.flatnonzero(fold_of == k)
        train = np.flatnonzero(fold_of != k)
        folds.append(Fold(k, train, test))
    return folds


def window_split(window_segment: np.ndarray, fold: Fold) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) window indices of a fold, from the segment index of every window."""
    seg = np.asarray(window_segment)
    train = np.flatnonzero(np.isin(seg, fold.train))
    test = np.flatnonzero(np.isin(seg, fold.test))
    return train, test


def check_disjoint(window_segment: np.ndarray, train: np.ndarray, test: np.ndarray) -> None:
    """Raise AssertionError if any segment has windows on both sides of a split."""
    seg = np.asarray(window_segment)
    shared = np.intersect1d(seg[train], seg[test])
    if shared.size:
        raise AssertionError(f"segments on both sides of the split: {shared[:10].tolist()}")
