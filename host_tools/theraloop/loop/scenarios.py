"""Real-data runs of the control loop, shared by the SIL tests, the QEMU end-to-end tests
and `theraloop bench-loop`: the recordings as AFE sample streams, and each policy's
settings derived from its factory model's contract.

- adaptive:   the STN LFP recording (beta biomarker), 1000 Hz, converted to ADC counts as
              the feature agreement does (theraloop.dsp.agreement.stn_counts);
- responsive: Bonn EEG, an ictal segment (set E) spliced between two interictal ones
              (set D), each resampled from 173.61 Hz to the AFE's 250 Hz exactly as the
              seizure detector's training data and the replay patient are
              (theraloop.train.seizure.to_device_rate).

Thresholds in the contracts are int8 output values (`threshold_q`); the device's score is
Q15 (loop/model_step.h), so they are converted with `quant.threshold_q15` (the same
decision: score >= threshold exactly when the int8 output >= threshold_q).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np

from theraloop.dsp.agreement import stn_counts
from theraloop.errors import UsageError
from theraloop.links import afe
from theraloop.loop.quant import threshold_q15
from theraloop.paths import repo_root

BETA: Final = "beta_biomarker"
SEIZURE: Final = "seizure_detector"

RUN_SETTINGS: Final[dict[str, int | str]] = {
    "dropout_ms": 60000,
    "step_budget_us": 10_000_000,
}
"""For runs fed faster than real time from a host: no wall-clock dropout, and a step budget
no host scheduling hiccup can reach (deadline faults are tested separately)."""


def data_dir() -> Path:
    """``../shared/data`` beside the source tree."""
    return repo_root().parent / "shared" / "data"


def contract(model: str) -> dict[str, Any]:
    path = repo_root() / "models" / model / "contract.json"
    if not path.is_file():
        raise UsageError(f"{path} not found: train the model (theraloop model train {model})")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise UsageError(f"{path}: not a JSON object")
    return data


def _q15(c: dict[str, Any], q: int) -> int:
    out = c["output"]
    return threshold_q15(int(q), float(out["scale"]), int(out["zero_point"]))


def stn_samples(data: Path | None = None) -> np.ndarray:
    """LFP_RIGHT_0 of the STN recording as int16 counts at 1000 Hz."""
    path = (data or data_dir()) / "stn_lfp" / "sub-testsub_medoff_gripforce.npz"
    with np.load(path, allow_pickle=False) as d:
        names = [str(n) for n in d["channels"]]
        x = np.asarray(d["data"][names.index("LFP_RIGHT_0")], dtype=np.float64)
        if float(d["fs"]) != 1000.0:
            raise UsageError(f"{path}: expected 1000 Hz")
    return stn_counts(x)


def bonn_splice(data: Path | None = None, segment: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Interictal (D) + ictal (E) + interictal (D) segments at 250 Hz, int16 counts, and
    the mask of the ictal samples."""
    from theraloop.train.seizure import to_device_rate

    base = (data or data_dir()) / "bonn_eeg"
    d = np.load(base / "set_D_train.npy")
    e = np.load(base / "set_E_train.npy")
    parts = list(to_device_rate(np.stack([d[segment], e[segment], d[segment + 1]]), 250))
    x = np.concatenate(parts).astype(np.int16)
    mask = np.zeros(x.size, dtype=bool)
    mask[parts[0].size : parts[0].size + parts[1].size] = True
    return x, mask


def adaptive_settings(c: dict[str, Any] | None = None) -> dict[str, int | str]:
    """Single-threshold adaptive DBS on the beta biomarker's high-beta probability, with
    short timings so that 19 s of recording show zone changes."""
    c = c or contract(BETA)
    pol = c.get("adaptive_policy", {})
    thr = _q15(c, int(pol["threshold_upper"]))
    return {
        "model": BETA,
        "policy": "adaptive",
        "adaptive_mode": "single",
        "adaptive_threshold_upper": thr,
        "adaptive_threshold_lower": min(thr, 0),
        "adaptive_amplitude_lower_ua": 1000,
        "adaptive_amplitude_upper_ua": 2000,
        "adaptive_startup_ms": 1000,
        "adaptive_onset_ms": 200,
        "adaptive_termination_ms": 600,
        "adaptive_blanking_ms": 400,
        "adaptive_ramp_up_ms": 1000,
        "adaptive_ramp_down_ms": 1000,
        **RUN_SETTINGS,
    }


def responsive_settings(
    c: dict[str, Any] | None = None, rate_hz: int = 250
) -> dict[str, int | str]:
    """Responsive stimulation on the seizure detector's ictal probability: the contract's
    threshold, and its k-of-k persistence as an onset on the device's clock."""
    c = c or contract(SEIZURE)
    pol = c["responsive_policy"]
    hop_ms = int(c["step"]["hop_samples"]) * 1000 // rate_hz
    onset = (int(pol["consecutive_windows"]) - 1) * hop_ms
    return {
        "model": SEIZURE,
        "policy": "responsive",
        "responsive_threshold": _q15(c, int(pol["responsive_threshold"])),
        "responsive_onset_ms": onset,
        "burst_amplitude_ua": 1500,
        "burst_pulse_width_us": 120,
        "burst_rate_dhz": 2000,
        "burst_duration_ms": 2000,
        "responsive_refractory_ms": 1000,
        "responsive_max_bursts_per_episode": 3,
        **RUN_SETTINGS,
    }


def afe_stream(samples: np.ndarray, rate_hz: int, block: int = 20, start_seq: int = 0) -> bytes:
    """Samples as the AFE sends them: frames of `block` samples per channel."""
    return b"".join(afe.encode_stream(samples, rate_hz, block, start_seq=start_seq))
