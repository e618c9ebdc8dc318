"""Float (numpy/scipy) reference of every device feature, in real units.

The same definitions as features.h, computed the way a scientist would: the float
Butterworth design (not the quantised one) through ``scipy.signal.sosfilt`` from zero
initial state, then windowed means. Window bookkeeping is identical to the device: a
vector per completed hop, averaging the last ``window_hops`` hops (fewer during warm-up).

- band power  = mean of y^2 over the window                       [counts^2]
- line length = mean of |x[n] - x[n-1]| over the window, x[-1] = x[0]  [counts]
- area        = mean of |x[n]| over the window                     [counts]

The device values divided by 2**frac_bits (:attr:`FeatureSpec.scale`) are compared with
these in tests/python/test_features_agreement.py; tolerances in docs/sensing.md.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal

from theraloop.dsp.config import FeatureConfig


def window_means(per_sample: np.ndarray, hop: int, window_hops: int) -> np.ndarray:
    """Per completed hop, the mean of `per_sample` over the last `window_hops` hops."""
    v = np.asarray(per_sample, dtype=np.float64)
    n_hops = v.shape[0] // hop
    if n_hops == 0:
        return np.zeros(0)
    hop_sums = v[: n_hops * hop].reshape(n_hops, hop).sum(axis=1)
    # Leading zeros give the warm-up windows; counts divide by the hops actually present.
    padded = np.concatenate([np.zeros(window_hops - 1), hop_sums])
    sums = sliding_window_view(padded, window_hops).sum(axis=1)
    counts = np.minimum(np.arange(1, n_hops + 1), window_hops) * hop
    return sums / counts


def band_power(x: np.ndarray, sos: np.ndarray, hop: int, window_hops: int) -> np.ndarray:
    y = signal.sosfilt(np.ascontiguousarray(sos), np.asarray(x, dtype=np.float64))
    return window_means(y * y, hop, window_hops)


def line_length(x: np.ndarray, hop: int, window_hops: int) -> np.ndarray:
    v = np.asarray(x, dtype=np.float64)
    if v.size == 0:
        return np.zeros(0)
    return window_means(np.abs(np.diff(v, prepend=v[0])), hop, window_hops)


def area(x: np.ndarray, hop: int, window_hops: int) -> np.ndarray:
    return window_means(np.abs(np.asarray(x, dtype=np.float64)), hop, window_hops)


def _as_frames(samples: np.ndarray, channels: int) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != channels:
        raise ValueError(f"samples must have shape (n,) or (n, {channels}), got {x.shape}")
    return x


def features(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """Float reference of the device's feature vectors: (hops, n_features), real units.

    `samples` is (n,) for one channel or (n, channels); any numeric dtype (int16 counts
    to compare with the device; float to study the unquantised signal).
    """
    x = _as_frames(samples, config.channels)
    columns: list[np.ndarray] = []
    for ch in range(config.channels):
        xc = x[:, ch]
        for flt in config.filters:
            columns.append(band_power(xc, flt.sos, config.hop, config.window_hops))
        if config.line_length:
            columns.append(line_length(xc, config.hop, config.window_hops))
        if config.area:
            columns.append(area(xc, config.hop, config.window_hops))
    n_hops = x.shape[0] // config.hop
    if not columns:
        return np.zeros((n_hops, 0))
    return np.stack(columns, axis=1)


def raw_windows(samples: np.ndarray, config: FeatureConfig) -> np.ndarray:
    """The raw window after every hop: (hops, channels, raw_len) int16, zero-padded at the
    front during warm-up (the device returns only the samples it holds then)."""
    x = _as_frames(samples, config.channels).astype(np.int16)
    n_hops = x.shape[0] // config.hop
    out = np.zeros((n_hops, config.channels, config.raw_len), dtype=np.int16)
    for h in range(n_hops):
        end = (h + 1) * config.hop
        start = max(0, end - config.raw_len)
        seg = x[start:end].T
        out[h, :, config.raw_len - seg.shape[1] :] = seg
    return out
