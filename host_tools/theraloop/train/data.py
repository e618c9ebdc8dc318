"""The recordings the recipes train and evaluate on (read-only, never copied into the repo).

- **Bonn EEG** (``bonn_eeg/``): files ``set_A_*.npy``, ``set_D_*.npy``, ``set_E_*.npy``,
  each an int16 array of segments x samples (raw 12-bit counts at 173.61 Hz). Several
  files per set are concatenated in name order. :func:`load_bonn` checks the layout.
- **STN LFP** (``stn_lfp/``): one ``.npz`` with ``data`` (channels x samples), ``channels``
  (names) and ``fs``. :func:`load_stn` returns one channel as float64.

The default folder is ``../shared/data`` beside the source tree; every command takes
``--data DIR`` to point elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theraloop.paths import repo_root
from theraloop.train.errors import DataError

BONN_FS = 173.61
"""Sample rate of the Bonn recordings (Hz)."""
BONN_SETS = ("A", "D", "E")
"""Set letters in class order: 0 = A (healthy, scalp), 1 = D (interictal), 2 = E (ictal)."""
BONN_SUBDIR = "bonn_eeg"
STN_SUBDIR = "stn_lfp"
STN_CHANNEL = "LFP_RIGHT_0"


def default_data_dir() -> Path:
    """``../shared/data`` beside the source tree."""
    return repo_root().parent / "shared" / "data"


def display_path(path: Path) -> str:
    """``path`` relative to the source tree when it is beside it (``../shared/data/...``),
    so that evaluation files and cards do not carry one machine's absolute paths."""
    root = repo_root()
    try:
        return str(Path("..") / path.resolve().relative_to(root.parent.resolve()))
    except ValueError:
        return str(path)


def bonn_dir(data: Path) -> Path:
    """``data`` itself if it holds ``set_*`` files, else ``data/bonn_eeg``."""
    if any(data.glob("set_*.npy")):
        return data
    return data / BONN_SUBDIR


@dataclass(frozen=True)
class BonnData:
    """Segments of sets A, D and E with their class and a stable id per segment."""

    segments: np.ndarray
    """(n, samples) int16 counts."""
    labels: np.ndarray
    """(n,) int: 0 = A, 1 = D, 2 = E."""
    ids: tuple[str, ...]
    """``"D:12"``: set letter and index within the set (file order)."""
    folder: Path

    @property
    def counts(self) -> dict[str, int]:
        return {s: int(np.sum(self.labels == i)) for i, s in enumerate(BONN_SETS)}

    def subset(self, index: np.ndarray) -> BonnData:
        idx = np.asarray(index)
        return BonnData(
            self.segments[idx], self.labels[idx], tuple(self.ids[i] for i in idx), self.folder
        )


def _load_int16(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read as .npy: {e}") from e
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise DataError(f"{path}: expected segments x samples, got shape {list(arr.shape)}")
    if arr.dtype != np.int16:
        if not np.issubdtype(arr.dtype, np.integer):
            raise DataError(f"{path}: expected int16 counts, got {arr.dtype}")
        if arr.min() < -32768 or arr.max() > 32767:
            raise DataError(f"{path}: values outside int16")
        arr = arr.astype(np.int16)
    return arr


def load_bonn(data: Path, min_samples: int = 1) -> BonnData:
    """Sets A, D and E from ``data`` (a ``bonn_eeg``-like folder, or its parent)."""
    folder = bonn_dir(data)
    if not folder.is_dir():
        raise DataError(
            f"{folder} is missing: point --data at a folder with set_A_*.npy, set_D_*.npy "
            "and set_E_*.npy (see ../shared/data/README.md)"
        )
    parts: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    ids: list[str] = []
    length: int | None = None
    for cls, letter in enumerate(BONN_SETS):
        files = sorted(folder.glob(f"set_{letter}_*.npy"))
        if not files:
            raise DataError(f"{folder}: no set_{letter}_*.npy")
        n_set = 0
        for f in files:
            arr = _load_int16(f)
            if length is None:
                length = arr.shape[1]
            elif arr.shape[1] != length:
                raise DataError(f"{f}: {arr.shape[1]} samples per segment, others have {length}")
            parts.append(arr)
            labels.append(np.full(arr.shape[0], cls, dtype=np.int64))
            ids.extend(f"{letter}:{n_set + i}" for i in range(arr.shape[0]))
            n_set += arr.shape[0]
    assert length is not None
    if length < min_samples:
        raise DataError(f"{folder}: segments have {length} samples, need at least {min_samples}")
    return BonnData(np.concatenate(parts), np.concatenate(labels), tuple(ids), folder)


def stn_file(data: Path) -> Path:
    """The STN recording: ``data`` if it is an ``.npz``, else the one ``.npz`` found in
    ``data`` or ``data/stn_lfp``."""
    if data.is_file():
        return data
    for folder in (data, data / STN_SUBDIR):
        files = sorted(folder.glob("*.npz")) if folder.is_dir() else []
        if len(files) == 1:
            return files[0]
        if len(files) > 1:
            raise DataError(f"{folder}: several .npz files, name one with --data FILE")
    raise DataError(
        f"no STN recording in {data} or {data / STN_SUBDIR}: expected an .npz with "
        "data, channels and fs (see ../shared/data/README.md)"
    )


def load_stn(data: Path, channel: str = STN_CHANNEL) -> tuple[np.ndarray, float]:
    """One channel of the STN recording (float64, stored scale) and its sample rate."""
    path = stn_file(data)
    try:
        with np.load(path, allow_pickle=False) as d:
            names = [str(c) for c in d["channels"]]
            if channel not in names:
                raise DataError(f"{path}: no channel {channel} (has {', '.join(names)})")
            x = np.asarray(d["data"][names.index(channel)], dtype=np.float64)
            fs = float(d["fs"])
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"{path}: not a recording with data/channels/fs: {e}") from e
    if x.ndim != 1 or x.size < int(2 * fs):
        raise DataError(f"{path}: channel {channel} is shorter than 2 s")
    if not np.all(np.isfinite(x)):
        raise DataError(f"{path}: channel {channel} has non-finite values")
    return x, fs
