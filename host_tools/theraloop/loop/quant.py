"""The model step's integer arithmetic (firmware/core/src/loop/model_step.c) in Python,
bit for bit: how the loop quantises a feature vector or raw window with the model's input
scale and zero point, and how it reads the score (Q15) from the output.

    q = clamp(rha(v * R / 2^k) + zp, -128, 127)     R = round(2^54 / m), k = E - 96
    score = rha((q - zp_out) * m_out * 2^(E_out - 135))

with a float32 scale s = m * 2^(E - 150) (m its 24-bit significand, E its biased exponent)
and rha = round half away from zero. Use `threshold_q15` to turn a threshold given as an
int8 output value (e.g. a model contract's `threshold_q`) into the device's score scale.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

Q15_ONE: Final = 32768


class ScaleError(ValueError):
    """A quantisation scale that is not a positive finite normal float32."""


def float_parts(scale: float) -> tuple[int, int]:
    """(m, E) of a float32: significand with the implicit bit, biased exponent."""
    (bits,) = struct.unpack("<I", struct.pack("<f", scale))
    exp = (bits >> 23) & 0xFF
    if bits >> 31 or exp in (0, 0xFF):
        raise ScaleError(f"scale {scale!r} is not a positive finite normal float32")
    return (bits & 0x7FFFFF) | 0x800000, exp


def input_multiplier(scale: float) -> tuple[int, int]:
    """(R, k) of an input scale."""
    m, e = float_parts(scale)
    return ((1 << 54) + m // 2) // m, e - 96


def _rha_shift(p: int, k: int) -> int:
    if k >= 64:
        return 0
    mag = (abs(p) + (1 << (k - 1))) >> k
    return -mag if p < 0 else mag


def quantize(v: int, scale: float, zero_point: int) -> int:
    """The int8 the device feeds the model for the integer value v."""
    r_mult, k = input_multiplier(scale)
    if k <= 0:
        r = (1 << 40) if v > 0 else (-(1 << 40) if v < 0 else 0)
    else:
        r = _rha_shift(int(v) * r_mult, k)
    return max(-128, min(127, r + zero_point))


def quantize_array(values: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """`quantize` over an integer array (exact: int64 with Python-int fallback avoided by
    the bound |v * R| <= 2^62)."""
    r_mult, k = input_multiplier(scale)
    v = np.asarray(values, dtype=np.int64)
    if k <= 0:
        r = np.sign(v) * (1 << 40)
    elif k >= 64:
        r = np.zeros_like(v)
    else:
        p = v * np.int64(r_mult)
        mag = (np.abs(p) + np.int64(1 << (k - 1))) >> np.int64(k)
        r = np.where(p < 0, -mag, mag)
    return np.clip(r + zero_point, -128, 127).astype(np.int8)


def dequantize_q15(q: int, scale: float, zero_point: int) -> int:
    """The device's score for output value q: (q - zp) * scale in Q15, rounded."""
    m, e = float_parts(scale)
    p = (int(q) - zero_point) * m
    shift = e - 135
    if shift >= 0:
        r = 0 if p == 0 else (p << shift if shift < 30 else (1 << 62) * (1 if p > 0 else -1))
    else:
        r = _rha_shift(p, -shift)
    return max(-(1 << 31), min((1 << 31) - 1, r))


def threshold_q15(q_threshold: int, scale: float, zero_point: int) -> int:
    """A threshold on the int8 output (score >= q) as a threshold on the device's Q15
    score: the same decision, since the score is monotonic in q."""
    return dequantize_q15(q_threshold, scale, zero_point)
