"""One PNG per session (matplotlib, Agg): the signal the AFE carried, the device's model
score with the policy's thresholds, the amplitude delivered with its limits, and the
events (faults, fallbacks, bursts, seizures, operator commands) on a shared time axis."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theraloop.sim.session import SessionOutcome
from theraloop.sim.summary import detections

Q15 = 32768.0


def plot_session(outcome: SessionOutcome, path: Path, summary: dict | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res, cfg, spec = outcome.result, outcome.config, outcome.spec
    rec = res.records
    rate = res.config["rate_hz"]
    tel = outcome.telemetry_array()
    policy = str(cfg["policy"])
    fig, axes = plt.subplots(
        4, 1, figsize=(13, 9), sharex=True, gridspec_kw={"height_ratios": [2.2, 2, 2.4, 0.9]}
    )
    ax_sig, ax_score, ax_amp, ax_ev = axes
    title = f"{spec.name}: {policy.replace('_', '-')} therapy, {spec.patient} patient"
    if spec.faults:
        title += f", faults {spec.faults}"
    fig.suptitle(f"{title}  (firmware on {outcome.spec.target}, seed {spec.seed})", fontsize=12)

    # 1. signal: the AFE samples (decimated envelope) + the patient's ground truth
    x = res.samples[:, 0].astype(np.float64)
    t = np.arange(x.size) / rate
    step = max(1, x.size // 20000)
    ax_sig.plot(t[::step], x[::step], lw=0.35, color="0.35")
    ax_sig.set_ylabel("AFE signal\n(ADC counts)")
    lim = float(np.percentile(np.abs(x), 99.9)) * 1.3 or 1.0
    ax_sig.set_ylim(-lim, lim)
    truth = ax_sig.twinx()
    if spec.patient == "bonn-replay":
        truth.fill_between(rec["t_s"], 0, rec["biomarker"], color="tab:red", alpha=0.15, step="pre")
        truth.set_ylabel("ictal weight", color="tab:red")
        truth.set_ylim(0, 1.05)
    else:
        k = max(1, round(0.5 * rate / res.config["hop_samples"]))  # 0.5 s moving mean
        smooth = np.convolve(rec["biomarker"], np.ones(k) / k, mode="same")
        truth.plot(rec["t_s"], smooth, color="tab:red", lw=1.2, label="true beta power")
        truth.set_ylabel("true beta power\n(1 = untreated)", color="tab:red")
        truth.set_ylim(0, max(2.0, float(smooth.max()) * 1.1))
    truth.tick_params(axis="y", colors="tab:red")

    # 2. the device's score (telemetry) with the thresholds
    t_dev = tel["time_ms"] / 1000.0
    valid = tel["score_valid"]
    score = np.where(valid, tel["score"] / Q15, np.nan)
    ax_score.plot(t_dev, score, lw=0.8, color="tab:blue", label="model score (device)")
    if policy == "adaptive":
        up = int(cfg["adaptive_threshold_upper"]) / Q15
        ax_score.axhline(up, color="tab:orange", ls="--", lw=1, label=f"upper threshold {up:.2f}")
        if cfg.get("adaptive_mode") == "dual":
            lo = int(cfg["adaptive_threshold_lower"]) / Q15
            ax_score.axhline(
                lo, color="tab:green", ls="--", lw=1, label=f"lower threshold {lo:.2f}"
            )
    elif policy == "responsive":
        thr = int(cfg["responsive_threshold"]) / Q15
        ax_score.axhline(thr, color="tab:orange", ls="--", lw=1, label=f"detection {thr:.2f}")
    ax_score.set_ylim(-0.02, 1.02)
    ax_score.set_ylabel("score\n(probability)")
    ax_score.legend(loc="upper right", fontsize=8, ncol=3)

    # 3. amplitude delivered (telemetry) and commanded (frames), limits
    ax_amp.step(
        t_dev,
        tel["amplitude_ua"] / 1000.0,
        where="post",
        color="tab:purple",
        lw=1.3,
        label="amplitude delivered (device)",
    )
    ax_amp.step(
        t_dev,
        tel["target_ua"] / 1000.0,
        where="post",
        color="tab:purple",
        lw=0.8,
        ls=":",
        label="target",
    )
    amax = int(cfg["amplitude_max_ua"]) / 1000.0
    ax_amp.axhline(amax, color="tab:red", lw=1.2, label=f"hard limit {amax:g} mA")
    if policy == "adaptive":
        lo = int(cfg["adaptive_amplitude_lower_ua"]) / 1000.0
        hi = int(cfg["adaptive_amplitude_upper_ua"]) / 1000.0
        span = f"policy range {lo:g}-{hi:g} mA"
        ax_amp.axhspan(lo, hi, color="tab:purple", alpha=0.07, label=span)
        ax_amp.axhline(lo, color="tab:purple", lw=0.6, alpha=0.6)
        ax_amp.axhline(hi, color="tab:purple", lw=0.6, alpha=0.6)
    ax_amp.set_ylim(0, amax * 1.12)
    ax_amp.set_ylabel("stimulation\n(mA)")
    ax_amp.legend(loc="upper right", fontsize=8, ncol=4)

    # 4. events
    ax_ev.set_yticks([0, 1, 2, 3], ["faults", "fallback", "stim on", "seizure"], fontsize=8)
    ax_ev.set_ylim(-0.6, 3.6)
    dt = res.config["hop_samples"] / rate
    fb = np.isin(tel["mode"], ("fallback", "link_safe", "lockout"))
    _spans(ax_ev, t_dev, fb, 1, dt, "tab:red")
    _spans(ax_ev, rec["t_s"] - dt, rec["faults"] != 0, -0.15, dt, "black")  # injected
    _spans(ax_ev, t_dev, tel["faults"] != 0, 0.15, dt, "tab:orange")  # seen by the device
    on = tel["enabled"]
    _spans(ax_ev, t_dev, on, 2, dt, "tab:purple")
    for z in res.truth.get("seizures") or []:
        ax_ev.broken_barh(
            [(z["onset_s"], z["offset_s"] - z["onset_s"])], (2.7, 0.6), color="tab:red", alpha=0.5
        )
    for det in detections(outcome) if policy == "responsive" else []:
        for ax in (ax_score, ax_amp):
            ax.axvline(det, color="tab:green", lw=0.8, alpha=0.7)
    for t_mark, label in outcome.marks:
        for ax in axes:
            ax.axvline(t_mark, color="black", lw=0.8, ls="-.")
        ax_ev.text(t_mark, 3.4, f" {label}", fontsize=7, va="top")
    ax_ev.set_xlabel("time (s)")
    ax_ev.set_xlim(0, float(rec["t_s"][-1]) if len(rec) else 1.0)
    if summary is not None:
        fig.text(0.01, 0.005, _caption(summary), fontsize=8, family="monospace", va="bottom")
    fig.tight_layout(rect=(0, 0.04 if summary is not None else 0, 1, 0.97))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _spans(ax: object, t: np.ndarray, mask: np.ndarray, y: float, dt: float, color: str) -> None:
    """Horizontal bars where `mask` holds (runs of consecutive steps)."""
    if not len(mask) or not mask.any():
        return
    m = np.concatenate([[False], mask.astype(bool), [False]])
    starts = np.flatnonzero(~m[:-1] & m[1:])
    ends = np.flatnonzero(m[:-1] & ~m[1:])
    pairs = zip(starts, ends, strict=True)
    bars = [(float(t[s]) - dt, float(t[e - 1] - t[s]) + dt) for s, e in pairs]
    ax.broken_barh(bars, (y - 0.3, 0.6), color=color, alpha=0.8)  # type: ignore[attr-defined]


def _caption(s: dict) -> str:
    parts = []
    e = s["energy"]
    if e.get("ratio") is not None:
        parts.append(
            f"energy {100 * e['ratio']:.0f} % of open loop at "
            f"{e['open_loop']['amplitude_ua'] / 1000:g} mA"
        )
    b = s.get("beta")
    if b and b.get("reduction") is not None:
        parts.append(
            f"beta power -{100 * b['reduction']:.0f} % vs no stimulation "
            f"(open loop -{100 * b['open_loop_reduction']:.0f} %)"
        )
    z = s.get("seizures")
    if z:
        lat = ", ".join("missed" if x is None else f"{x:.1f} s" for x in z["latencies_s"])
        parts.append(
            f"seizures {z['detected']}/{len(z['onsets_s'])} detected "
            f"(latency {lat}), {z['false_alarms']} false alarms"
        )
    c = s["cycles_per_step"]
    if "instructions_per_step" in c:
        parts.append(f"{c['instructions_per_step']['mean']:,} instructions/step")
    parts.append(f"limit violations {len(s['limit_violations'])}")
    return " | ".join(parts)
