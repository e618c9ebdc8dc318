"""Figures of the model cards (matplotlib, Agg backend, deterministic PNG metadata)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theraloop.train import generator


def calibration_figure(
    real: np.ndarray,
    generated: np.ndarray,
    fs: float,
    cal: generator.Calibration,
    gen_meas: generator.Measurement,
    path: Path,
) -> None:
    """Real vs generated: PSD, burst durations, burst amplitudes (three panels)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f_r, p_r = generator.psd(real, fs)
    f_g, p_g = generator.psd(generated, fs)
    rb, gb = cal.real.bursts, gen_meas.bursts
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), constrained_layout=True)

    ax = axes[0]
    sel = (f_r >= 1) & (f_r <= 200)
    ax.loglog(f_r[sel], p_r[sel], color="k", lw=1.4, label=f"real ({real.size / fs:.0f} s)")
    ax.loglog(
        f_g[sel],
        p_g[sel],
        color="tab:orange",
        lw=1.2,
        label=f"generated ({generated.size / fs:.0f} s)",
    )
    ax.loglog(
        f_r[sel],
        cal.aperiodic.at(f_r[sel]),
        color="tab:blue",
        lw=0.8,
        ls="--",
        label="background (beta bridged)",
    )
    ax.axvspan(*generator.BETA, color="0.9", zorder=0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("PSD (counts$^2$/Hz)")
    ax.set_title(
        f"PSD: peak {cal.real.peak_hz:.0f} / {gen_meas.peak_hz:.0f} Hz, beta share "
        f"{cal.real.beta_share:.2f} / {gen_meas.beta_share:.2f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)

    ax = axes[1]
    bins = np.linspace(0, max(0.8, float(np.percentile(gb.durations_s, 99))), 17)
    ax.hist(
        rb.durations_s,
        bins=bins,
        density=True,
        histtype="stepfilled",
        color="0.6",
        alpha=0.7,
        label=f"real (n={rb.durations_s.size})",
    )
    ax.hist(
        gb.durations_s,
        bins=bins,
        density=True,
        histtype="step",
        color="tab:orange",
        lw=1.6,
        label=f"generated (n={gb.durations_s.size})",
    )
    ax.set_xlabel("burst duration (s)")
    ax.set_ylabel("density")
    ax.set_title(
        f"durations: median {rb.median_duration_s:.3f} / {gb.median_duration_s:.3f} s; "
        f"rate {rb.rate_hz:.2f} / {gb.rate_hz:.2f} /s",
        fontsize=9,
    )
    ax.legend(fontsize=8)

    ax = axes[2]
    r_amp = rb.amplitudes / rb.threshold
    g_amp = gb.amplitudes / gb.threshold
    bins = np.linspace(1.0, max(2.5, float(np.percentile(g_amp, 99))), 17)
    ax.hist(
        r_amp, bins=bins, density=True, histtype="stepfilled", color="0.6", alpha=0.7, label="real"
    )
    ax.hist(
        g_amp,
        bins=bins,
        density=True,
        histtype="step",
        color="tab:orange",
        lw=1.6,
        label="generated",
    )
    ax.set_xlabel("burst amplitude / threshold")
    ax.set_ylabel("density")
    ax.set_title(f"amplitudes: median {np.median(r_amp):.2f} / {np.median(g_amp):.2f}", fontsize=9)
    ax.legend(fontsize=8)

    fig.suptitle(
        "Generator calibration on the STN recording (real / generated, "
        "Tinkhauser bursts: peak +/- 3 Hz envelope > 75th percentile)",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
