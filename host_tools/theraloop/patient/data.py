"""The real recordings the replay patients play (read-only, never copied into the repo).

``../shared/data`` beside the source tree by default (``paths.repo_root().parent``); every
loader takes another folder. A missing folder or file raises :class:`DataMissing` with the
path, so tests can skip with a clear message and the CLI can say what to install.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from theraloop.dsp.agreement import STN_FILE, stn_counts, stn_recording
from theraloop.errors import UsageError
from theraloop.paths import repo_root

STN_CHANNEL = "LFP_RIGHT_0"
STN_PEAK_COUNTS = 8000.0
"""99.99th percentile of |x| in ADC counts after conversion (-12 dBFS; docs/sensing.md)."""
BONN_FS = 173.61
"""Sample rate of the Bonn recordings (Hz)."""
BONN_SETS = ("A", "D", "E")


class DataMissing(UsageError):
    """A recording the patient needs is not where it was looked for."""


def data_dir(folder: Path | None = None) -> Path:
    """`folder`, else ``../shared/data`` beside the source tree."""
    return folder if folder is not None else repo_root().parent / "shared" / "data"


def load_stn_counts(
    folder: Path | None = None,
    channel: str = STN_CHANNEL,
    peak_counts: float = STN_PEAK_COUNTS,
) -> tuple[np.ndarray, float]:
    """One STN channel in int16 ADC counts (theraloop.dsp.agreement.stn_counts), and fs."""
    root = data_dir(folder)
    if not (root / STN_FILE).is_file():
        raise DataMissing(f"STN recording {root / STN_FILE} not found (see ../shared/data)")
    try:
        x, fs = stn_recording(root, channel)
    except ValueError as exc:
        raise DataMissing(f"{root / STN_FILE}: no channel {channel!r}") from exc
    return stn_counts(x, peak_counts), fs


def load_bonn_set(which: str, folder: Path | None = None) -> np.ndarray:
    """All segments of Bonn set A, D or E: (segments, samples) int16 raw 12-bit counts."""
    if which not in BONN_SETS:
        raise ValueError(f"Bonn set must be one of {', '.join(BONN_SETS)}")
    path = data_dir(folder) / "bonn_eeg" / f"set_{which}_train.npy"
    if not path.is_file():
        raise DataMissing(f"Bonn EEG set {which}: {path} not found (see ../shared/data)")
    arr = np.load(path)
    if arr.ndim != 2 or arr.dtype != np.int16:
        raise DataMissing(
            f"{path}: expected (segments, samples) int16, got {arr.dtype} {arr.shape}"
        )
    return arr
