"""Band-pass filter design for the device's fixed-point band-power features.

A band is designed with ``scipy.signal.butter(order // 2, [low, high], "bandpass",
fs=fs, output="sos")`` (a Butterworth band-pass of total order ``order``, as
``order // 2`` second-order sections), then:

1. **gain distribution** (L-infinity scaling): the numerator of every section but the
   last is scaled so that the cumulative response up to that section peaks at exactly 1;
   the last section absorbs the product, so the overall response is unchanged. Signals
   between sections then stay at the input's scale (no section amplifies a sinusoid);
2. **quantisation** of b0 b1 b2 a1 a2 to Q2.29 (``round(c * 2**29)``, int32), the format
   the device stores (``tl_biquad_coefs_t``, firmware/core/include/theraloop/dsp.h);
3. **checks**, each raising :class:`DesignError`: the quantised sections pass the exact
   stability test the device applies (|a2| < 1, |a1| < 1 + a2); the worst-case gain
   (L1 norm of the impulse response) from the input to every section output keeps a
   full-scale int16 input inside the device's Q19.12 signal clamp (2**30); and the
   quantised response stays within 0.01 dB of the float design in the pass band.

:class:`DesignReport` records what was checked (pole radii, response error, worst-case
gains, the output noise of the fixed-point arithmetic) -- see docs/sensing.md.

``python -m theraloop.dsp.design --emit-c firmware/core/src/dsp/default_bands.c``
regenerates the built-in band table of the firmware; ``--report`` prints the checks.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import signal

COEF_FRAC = 29
"""Coefficients are Q2.29 in int32."""
SIGNAL_FRAC = 12
"""Signals between sections are Q19.12 in int32."""
SIGNAL_LIMIT = 2**30
"""Every section output is clamped to +/- this (Q19.12), i.e. +/- 262144 counts."""
MAX_SECTIONS = 4
FULL_SCALE = 32768
"""Largest |int16| input."""
PASSBAND_TOLERANCE_DB = 0.01
"""Largest allowed pass-band deviation of the quantised response from the float design."""
GRID_POINTS = 1 << 15
DEFAULT_RATES = (250, 500, 1000)
"""The AFE sample rates; the firmware carries a designed table for each."""


class DesignError(ValueError):
    """A band cannot be realised on the device (edges, stability, headroom, accuracy)."""


@dataclass(frozen=True)
class Band:
    """A frequency band for a band-power feature."""

    name: str
    low_hz: float
    high_hz: float
    order: int = 4
    """Total filter order (even): order // 2 second-order sections."""
    frac_bits: int = 4
    """The device outputs mean(y^2) * 2**frac_bits (0..12)."""


DEFAULT_BANDS: tuple[Band, ...] = (
    Band("theta", 4.0, 8.0),
    Band("alpha", 8.0, 12.0),
    Band("beta", 13.0, 30.0),
    Band("gamma", 30.0, 90.0),
)


@dataclass(frozen=True)
class DesignReport:
    """What the checks measured for one designed band."""

    max_pole_radius: float
    """Largest |pole| of the quantised sections (must be < 1)."""
    passband_error_db: float
    """Largest |dB difference| quantised vs float inside the band edges."""
    max_response_error: float
    """Largest |H_quantised - H_float| over all frequencies (linear)."""
    section_l1_gains: tuple[float, ...]
    """Worst-case gain (sum |h|) from the input to each section output."""
    noise_rms_counts: float
    """RMS of the output noise from the device's rounding of section outputs, with its
    error feedback (counts)."""

    @property
    def headroom(self) -> float:
        """How many times a full-scale input fits under the signal clamp (>= 1 required)."""
        return SIGNAL_LIMIT / (2**SIGNAL_FRAC * FULL_SCALE * max(self.section_l1_gains))


@dataclass(frozen=True)
class BandFilter:
    """A band designed for one sample rate: float and quantised second-order sections."""

    band: Band
    fs: float
    sos: np.ndarray
    """(n, 6) float sections after gain distribution (scipy layout b0 b1 b2 1 a1 a2)."""
    coefs: np.ndarray
    """(n, 5) int64: b0 b1 b2 a1 a2 in Q2.29, exactly what the device stores."""
    report: DesignReport

    @property
    def sos_quantised(self) -> np.ndarray:
        """The quantised sections as float scipy sos (for analysis)."""
        q = self.coefs.astype(np.float64) / 2**COEF_FRAC
        ones = np.ones((q.shape[0], 1))
        return np.hstack([q[:, :3], ones, q[:, 3:]])


def _distribute_gain(sos: np.ndarray, fs: float) -> np.ndarray:
    sos = np.array(sos, dtype=np.float64)
    cumulative = np.ones(GRID_POINTS, dtype=np.complex128)
    carry = 1.0
    for k in range(sos.shape[0] - 1):
        _, h = signal.sosfreqz(sos[k : k + 1], worN=GRID_POINTS, fs=fs)
        cumulative *= h
        peak = float(np.max(np.abs(cumulative)))
        sos[k, :3] /= peak
        cumulative /= peak
        carry *= peak
    sos[-1, :3] *= carry
    return sos


def quantise(sos: np.ndarray) -> np.ndarray:
    """Float sections (n, 6) -> int64 (n, 5) b0 b1 b2 a1 a2 in Q2.29."""
    if not np.allclose(sos[:, 3], 1.0):
        raise DesignError("sections must be normalised (a0 == 1)")
    picked = sos[:, [0, 1, 2, 4, 5]]
    coefs = np.round(picked * 2**COEF_FRAC).astype(np.int64)
    if np.any(np.abs(coefs) > 2**31 - 1):
        raise DesignError("a coefficient does not fit Q2.29 (|c| >= 4)")
    return coefs


def is_stable(coefs: np.ndarray) -> bool:
    """The device's exact test (tl_biquad_check) on quantised sections."""
    one = 2**COEF_FRAC
    return all(-one < a2 < one and abs(a1) < one + a2 for *_b, a1, a2 in coefs.tolist())


def _impulse_length(max_radius: float) -> int:
    # Long enough for the slowest pole to decay by 1e-12.
    return int(min(2_000_000, max(4096, math.ceil(-12 * math.log(10) / math.log(max_radius)))))


def _report(band: Band, fs: float, sos: np.ndarray, coefs: np.ndarray) -> DesignReport:
    q = coefs.astype(np.float64) / 2**COEF_FRAC
    radii = [float(np.max(np.abs(np.roots([1.0, a1, a2])))) for a1, a2 in q[:, 3:]]
    max_radius = max(radii)
    sos_q = np.hstack([q[:, :3], np.ones((q.shape[0], 1)), q[:, 3:]])
    _, h_float = signal.sosfreqz(sos, worN=GRID_POINTS, fs=fs)
    _, h_quant = signal.sosfreqz(sos_q, worN=GRID_POINTS, fs=fs)
    passband = np.linspace(band.low_hz, band.high_hz, 512)
    _, p_float = signal.sosfreqz(sos, worN=passband, fs=fs)
    _, p_quant = signal.sosfreqz(sos_q, worN=passband, fs=fs)
    db_err = np.abs(20 * np.log10(np.abs(p_quant) / np.abs(p_float)))
    n = _impulse_length(max_radius)
    impulse = np.zeros(n)
    impulse[0] = 1.0
    l1: list[float] = []
    noise_var = 0.0
    lsb_var = (2.0**-SIGNAL_FRAC) ** 2 / 12.0  # rounding of a section output, counts^2
    x = impulse
    for k in range(sos_q.shape[0]):
        x = signal.sosfilt(np.ascontiguousarray(sos_q[k : k + 1]), x)
        l1.append(float(np.sum(np.abs(x))))
        # Rounding noise injected at section k's output is shaped by the device's error
        # feedback (1 + round(a1) z^-1 + round(a2) z^-2), then goes through 1 / A_k and
        # the remaining sections.
        r1, r2 = (int(c + 2 ** (COEF_FRAC - 1)) >> COEF_FRAC for c in coefs[k, 3:])
        tail = np.vstack([[[1.0, float(r1), float(r2), 1.0, *sos_q[k, 4:]]], sos_q[k + 1 :]])
        h_noise = signal.sosfilt(np.ascontiguousarray(tail), impulse)
        noise_var += lsb_var * float(np.sum(h_noise**2))
    return DesignReport(
        max_pole_radius=max_radius,
        passband_error_db=float(np.max(db_err)),
        max_response_error=float(np.max(np.abs(h_quant - h_float))),
        section_l1_gains=tuple(l1),
        noise_rms_counts=math.sqrt(noise_var),
    )


def design_band(band: Band, fs: float) -> BandFilter:
    """Design, quantise and check one band for sample rate fs (Hz)."""
    if band.order < 2 or band.order % 2 or band.order // 2 > MAX_SECTIONS:
        raise DesignError(f"{band.name}: order must be even, 2..{2 * MAX_SECTIONS}")
    if not 0 < band.low_hz < band.high_hz < fs / 2:
        raise DesignError(
            f"{band.name}: edges {band.low_hz}-{band.high_hz} Hz must satisfy "
            f"0 < low < high < fs/2 = {fs / 2:g} Hz"
        )
    if not 0 <= band.frac_bits <= 12:
        raise DesignError(f"{band.name}: frac_bits must be 0..12")
    sos = signal.butter(
        band.order // 2, [band.low_hz, band.high_hz], btype="bandpass", fs=fs, output="sos"
    )
    sos = _distribute_gain(sos, fs)
    coefs = quantise(sos)
    if not is_stable(coefs):
        raise DesignError(f"{band.name}: quantised filter is unstable at fs={fs:g} Hz")
    report = _report(band, fs, sos, coefs)
    if report.headroom < 1.0:
        raise DesignError(
            f"{band.name}: worst-case section gain {max(report.section_l1_gains):.2f} "
            "would overflow the Q19.12 signal range"
        )
    if report.passband_error_db > PASSBAND_TOLERANCE_DB:
        raise DesignError(
            f"{band.name}: quantised response deviates {report.passband_error_db:.4f} dB "
            f"in the pass band at fs={fs:g} Hz"
        )
    return BandFilter(band=band, fs=fs, sos=sos, coefs=coefs, report=report)


def design_bands(bands: Sequence[Band], fs: float) -> list[BandFilter]:
    return [design_band(b, fs) for b in bands]


def centihz(hz: float) -> int:
    """A frequency in the device's unit (0.01 Hz)."""
    return round(hz * 100)


def emit_c(bands: Sequence[Band] = DEFAULT_BANDS, rates: Sequence[int] = DEFAULT_RATES) -> str:
    """C source of the firmware's built-in band table (default_bands.c)."""
    lines = [
        "/*",
        " * default_bands.c - GENERATED by `python -m theraloop.dsp.design --emit-c` from",
        " * host_tools/theraloop/dsp/design.py. Do not edit: regenerate (a Python test checks",
        " * that this file matches the design).",
        " *",
        " * Built-in bands, 4th-order Butterworth band-pass, Q2.29 sections per sample rate:",
    ]
    lines += [f" *   {b.name:<6} {b.low_hz:g}-{b.high_hz:g} Hz" for b in bands]
    lines += [
        " */",
        '#include "dsp_defaults.h"',
        "",
        f'_Static_assert(TL_FEAT_DEFAULT_BANDS == {len(bands)}, "default band count");',
    ]
    for fs in rates:
        lines += [
            "",
            f"const tl_feat_band_t tl_feat_default_bands_{fs}[TL_FEAT_DEFAULT_BANDS] = {{",
        ]
        for flt in design_bands(bands, fs):
            b = flt.band
            lines.append(f"    /* {b.name} {b.low_hz:g}-{b.high_hz:g} Hz at {fs} Hz */")
            lines.append("    {")
            lines.append(f"        .low_centihz = {centihz(b.low_hz)}u,")
            lines.append(f"        .high_centihz = {centihz(b.high_hz)}u,")
            lines.append("        .sos = {")
            for row in flt.coefs.tolist():
                vals = ", ".join(f"{v}" if v != -(2**31) else "INT32_MIN" for v in row)
                lines.append(f"            {{{vals}}},")
            lines.append("        },")
            lines.append(f"        .n_sections = {flt.coefs.shape[0]}u,")
            lines.append(f"        .frac_bits = {b.frac_bits}u,")
            lines.append("    },")
        lines.append("};")
    return "\n".join(lines) + "\n"


def format_report(filters: Sequence[BandFilter]) -> str:
    rows = [
        f"{'band':<7}{'fs':>6}{'max |pole|':>12}{'pb err dB':>11}{'max |dH|':>10}"
        f"{'L1 gains':>16}{'headroom':>10}{'noise cnt':>11}"
    ]
    for f in filters:
        r = f.report
        gains = "/".join(f"{g:.2f}" for g in r.section_l1_gains)
        rows.append(
            f"{f.band.name:<7}{f.fs:>6g}{r.max_pole_radius:>12.6f}{r.passband_error_db:>11.2e}"
            f"{r.max_response_error:>10.1e}{gains:>16}{r.headroom:>10.2f}"
            f"{r.noise_rms_counts:>11.1e}"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m theraloop.dsp.design", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--emit-c", type=Path, help="write the firmware's default band table")
    parser.add_argument("--report", action="store_true", help="print the design checks")
    args = parser.parse_args(argv)
    if args.emit_c is None and not args.report:
        parser.error("nothing to do: give --emit-c PATH and/or --report")
    if args.emit_c is not None:
        args.emit_c.write_text(emit_c())
    if args.report:
        filters = [f for fs in DEFAULT_RATES for f in design_bands(DEFAULT_BANDS, fs)]
        print(format_report(filters))
    return 0


if __name__ == "__main__":
    sys.exit(main())
