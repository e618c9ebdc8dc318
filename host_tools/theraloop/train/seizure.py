"""The seizure-detector recipe: a raw-window 1-D CNN on the Bonn EEG (sets A, D, E).

**Sample rate.** The device's AFE link carries 250, 500 or 1000 Hz only, so the Bonn
segments (173.61 Hz) are resampled to the device rate ``input.rate_hz`` (250 Hz) *before*
windowing, exactly as the virtual patient plays them
(:func:`theraloop.patient.replay.resample`: ``scipy.signal.resample_poly`` by 36/25 with
its Kaiser anti-aliasing FIR), then rounded and clipped to int16 like the virtual AFE.
36/25 x 173.61 Hz = 249.9984 Hz, so one "250 Hz" sample is 6.4e-6 (0.00064 %) longer
than the device's: 0.15 ms over a 23.6 s segment. Windows, hops, persistence, false
alarms per hour and latencies are all in device (250 Hz) time, and ``theraloop model
eval`` resamples any Bonn-like folder (defined as 173.61 Hz) the same way.

**Input.** The device's raw window (``tl_features_raw_window``, channel 0): the last
``window`` int16 samples at every control step of ``hop`` samples. The model takes int8
``q = clamp(round(counts / 2**shift), -128, 127)`` (scale 2**shift counts, zero point 0):
a rounding shift with a fixed ``shift`` chosen for the data (12-bit EEG), no per-window
statistics. Training windows come from the device's own feature code (SIL library), so
the model sees exactly what the firmware hands it.

**Output.** Softmax over three classes (A healthy scalp EEG, D interictal, E ictal);
the responsive policy's score is the int8 probability of class E.

**Evaluation.** Stratified k-fold cross-validation by *segment*; the unit is a whole
segment (mean of its window probabilities, then argmax). Reported for the float model
and for the int8 model run by our engine (checked bit-exact against tflite-micro on
every window): D-vs-E (ictal detected = argmax E) sensitivity/specificity/balanced
accuracy, 3-class A/D/E accuracy, ictal-vs-rest figures; then the detection decision
over consecutive windows (k of n, :mod:`theraloop.train.metrics`) with its false-alarm
rate on the interictal recordings and the time to detection on the ictal ones; a sweep
of network sizes; the device cost of the shipped model.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from theraloop.dsp.agreement import BONN_BANDS, BONN_FRAC_BITS
from theraloop.dsp.config import MAX_RAW, FeatureConfig
from theraloop.dsp.fixed import FixedFeatures
from theraloop.patient.afe import FULL_SCALE
from theraloop.patient.replay import _ratio, resample
from theraloop.train import metrics
from theraloop.train.cost import Budget
from theraloop.train.cv import Fold, check_disjoint, segment_folds, window_split
from theraloop.train.data import BONN_FS, BONN_SETS, BonnData, display_path, load_bonn
from theraloop.train.errors import DataError, QuantizationError, RecipeError
from theraloop.train.nets import NetSpec
from theraloop.train.progress import Progress, epoch_callback
from theraloop.train.quantize import InputQuant, Int8Runner, OutputQuant, check_io

MODEL_NAME = "seizure_detector"
CLASSES = ("A_healthy", "D_interictal", "E_ictal")
SET_OF_CLASS = dict(enumerate(BONN_SETS))
INTERICTAL = 1
ICTAL = 2
AFE_RATES = (250, 500, 1000)
"""Sample rates the device's AFE link carries (docs/sensing.md)."""


@dataclass(frozen=True)
class Settings:
    """The seizure recipe's configuration (``recipe.toml``, with ``[tiny]`` applied)."""

    window: int
    hop: int
    rate_hz: int
    feature_window_hops: int
    input_shift: int
    segments_per_set: int | None
    folds: int
    seed: int
    epochs: int
    batch: int
    learning_rate: float
    representative: int
    train_stride: int
    net: NetSpec
    sweep: tuple[NetSpec, ...]
    sweep_folds: int
    thresholds: tuple[float, ...]
    rules: tuple[tuple[int, int], ...]
    operating_point: tuple[float, int, int]
    budget: Budget
    tiny: bool = False

    @classmethod
    def from_config(cls, c: dict[str, Any], tiny: bool = False) -> Settings:
        try:
            inp, train, dec = c["input"], c["train"], c["decision"]
            data = c.get("data", {})
            sweep = c.get("sweep", {})
            window = int(inp["window"])
            if not 8 <= window <= MAX_RAW:
                raise RecipeError(f"input.window must be 8..{MAX_RAW} (the device's raw window)")
            s = cls(
                window=window,
                hop=int(inp["hop"]),
                rate_hz=int(inp.get("rate_hz", 250)),
                feature_window_hops=int(inp.get("feature_window_hops", 10)),
                input_shift=int(inp["shift"]),
                segments_per_set=(
                    int(data["segments_per_set"]) if "segments_per_set" in data else None
                ),
                folds=int(train["folds"]),
                seed=int(train["seed"]),
                epochs=int(train["epochs"]),
                batch=int(train.get("batch", 64)),
                learning_rate=float(train.get("learning_rate", 3e-3)),
                representative=int(train.get("representative", 512)),
                train_stride=int(train.get("window_stride", 1)),
                net=NetSpec.from_dict(c["net"], name="seizure_detector"),
                sweep=tuple(
                    NetSpec.from_dict(n, name=str(n.get("name", f"size{i}")))
                    for i, n in enumerate(sweep.get("nets", []))
                ),
                sweep_folds=int(sweep.get("folds", train["folds"])),
                thresholds=tuple(float(t) for t in dec["thresholds"]),
                rules=tuple((int(k), int(n)) for k, n in dec["persistence"]),
                operating_point=(float(dec["threshold"]), int(dec["k"]), int(dec["n"])),
                budget=Budget.from_dict(c.get("budget", {})),
                tiny=tiny,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise RecipeError(f"seizure_detector recipe: {e}") from e
        if s.rate_hz not in AFE_RATES:
            raise RecipeError(
                f"input.rate_hz must be one the AFE link carries: {AFE_RATES} (got {s.rate_hz})"
            )
        if not 0 <= s.input_shift <= 8:
            raise RecipeError("input.shift must be 0..8")
        if s.train_stride < 1:
            raise RecipeError("train.window_stride must be >= 1")
        return s

    @property
    def quant(self) -> InputQuant:
        return InputQuant(shift=self.input_shift, zero_point=0)

    @property
    def hop_s(self) -> float:
        return self.hop / self.rate_hz

    @property
    def window_s(self) -> float:
        return self.window / self.rate_hz

    def feature_config(self) -> FeatureConfig:
        """The device's feature-stage configuration this model is trained for."""
        return FeatureConfig(
            fs=float(self.rate_hz),
            channels=1,
            bands=BONN_BANDS,
            hop=self.hop,
            window_hops=self.feature_window_hops,
            raw_len=self.window,
            ll_frac_bits=BONN_FRAC_BITS,
            area_frac_bits=BONN_FRAC_BITS,
        )


# ---- windows ----------------------------------------------------------------------


@dataclass(frozen=True)
class Windows:
    """Every full raw window of every segment, as the device's feature code cuts them."""

    x: np.ndarray
    """(N, window) int16 counts, oldest sample first."""
    segment: np.ndarray
    """(N,) index of the segment each window comes from."""
    end_sample: np.ndarray
    """(N,) sample index (within the segment) just after the window's last sample."""


def resample_ratio(rate_hz: float, fs_in: float = BONN_FS) -> str:
    """``"36/25"``: the resample_poly factors (the virtual patient's, up/down) for
    fs_in -> rate_hz; "1/1" when they agree (no resampling)."""
    if abs(rate_hz - fs_in) < 1e-9:
        return "1/1"
    return "{}/{}".format(*_ratio(round(rate_hz), fs_in))


def to_device_rate(segments: np.ndarray, rate_hz: float, fs_in: float = BONN_FS) -> np.ndarray:
    """(n, samples) int16 at `fs_in` -> (n, samples') int16 at the device rate.

    The virtual patient's resampler (resample_poly, Kaiser anti-aliasing FIR; identity
    when the rates agree), then rounding to nearest and clipping at +-32767 like the
    virtual AFE. Each segment is resampled on its own (its edges are zero-padded by the
    FIR, as when the patient plays one segment)."""
    x = np.asarray(segments)
    if abs(rate_hz - fs_in) < 1e-9:
        return x.astype(np.int16, copy=False)
    if abs(rate_hz - round(rate_hz)) > 1e-9:
        raise DataError(f"cannot resample to {rate_hz} Hz: the device rate is an integer")
    rows = [resample(seg, fs_in, round(rate_hz)) for seg in x]
    y = np.rint(np.stack(rows))
    return np.clip(y, -FULL_SCALE, FULL_SCALE).astype(np.int16)


def device_rate_data(data: BonnData, rate_hz: float, min_samples: int) -> BonnData:
    """`data` (Bonn, 173.61 Hz) resampled to the device rate; at least `min_samples`."""
    seg = to_device_rate(data.segments, rate_hz)
    if seg.shape[1] < min_samples:
        raise DataError(
            f"{data.folder}: segments have {seg.shape[1]} samples at {rate_hz:g} Hz, need at "
            f"least {min_samples}"
        )
    return BonnData(seg, data.labels, data.ids, data.folder)


def first_window_end(cfg: FeatureConfig) -> int:
    """Samples a segment needs for one full raw window (windows end on hop boundaries)."""
    return math.ceil(cfg.raw_len / cfg.hop) * cfg.hop


def raw_windows(segments: np.ndarray, cfg: FeatureConfig) -> Windows:
    """Run each segment through the device feature stage (reset in between); keep the
    raw window at every hop once it holds ``raw_len`` real samples."""
    ff = FixedFeatures(cfg)
    xs, segs, ends = [], [], []
    for i, seg in enumerate(segments):
        ff.reset()
        run = ff.run(np.asarray(seg, dtype=np.int16), raw=True)
        assert run.raw is not None
        hop_end = (np.arange(run.raw.shape[0]) + 1) * cfg.hop
        full = hop_end >= cfg.raw_len
        xs.append(run.raw[full, 0, :])
        segs.append(np.full(int(full.sum()), i, dtype=np.int64))
        ends.append(hop_end[full])
    if not xs or sum(a.shape[0] for a in xs) == 0:
        raise DataError(f"segments are shorter than one {cfg.raw_len}-sample window")
    return Windows(np.concatenate(xs), np.concatenate(segs), np.concatenate(ends))


def model_input(q: np.ndarray) -> np.ndarray:
    """int8 windows -> the float training input (q / 128, shape (N, window, 1))."""
    return (np.asarray(q, np.float32) / 128.0)[..., None]


def segment_probabilities(
    window_prob: np.ndarray, window_segment: np.ndarray, n_segments: int
) -> np.ndarray:
    """(n_segments, classes): the mean of each segment's window probabilities."""
    sums = np.zeros((n_segments, window_prob.shape[1]))
    np.add.at(sums, window_segment, window_prob)
    counts = np.bincount(window_segment, minlength=n_segments)
    return sums / np.maximum(counts, 1)[:, None]


def classification(seg_prob: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """The headline figures for whole segments (see the module docstring)."""
    pred = np.argmax(seg_prob, axis=1)
    de = (labels == INTERICTAL) | (labels == ICTAL)
    d_vs_e = metrics.Binary.of(labels[de] == ICTAL, pred[de] == ICTAL)
    rest = metrics.Binary.of(labels == ICTAL, pred == ICTAL)
    return {
        "segments": int(labels.size),
        "ade_accuracy": metrics.accuracy(labels, pred),
        "d_vs_e_balanced_accuracy": d_vs_e.balanced_accuracy,
        "sensitivity": d_vs_e.sensitivity,
        "specificity": d_vs_e.specificity,
        "d_vs_e": d_vs_e.to_json(),
        "ictal_vs_rest": rest.to_json(),
        "kappa": metrics.cohen_kappa(labels, pred, len(CLASSES)),
        "confusion": metrics.confusion(labels, pred, len(CLASSES)).tolist(),
    }


# ---- training ------------------------------------------------------------------------


@dataclass
class CvResult:
    """Window-level outputs of a cross-validation, each window from its held-out fold."""

    spec: NetSpec
    folds: int
    float_prob: np.ndarray
    int8_out: np.ndarray
    out_quant: OutputQuant
    compared: int
    model_sizes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def int8_prob(self) -> np.ndarray:
        return self.out_quant.dequantize(self.int8_out)


class Trainer:
    """Trains one network on given windows and converts it (TensorFlow in here only)."""

    def __init__(self, s: Settings, progress: Progress) -> None:
        from theraloop.train import nets

        self.s = s
        self.progress = progress
        self.nets = nets
        self.tf, self.keras = nets.tensorflow()

    def fit(self, spec: NetSpec, q: np.ndarray, y: np.ndarray, seed: int, desc: str) -> Any:
        keras = self.keras
        self.nets.seed(keras, seed)
        model = self.nets.build(
            keras, spec, (self.s.window, 1), len(CLASSES), model_name=MODEL_NAME
        )
        model.compile(
            optimizer=keras.optimizers.Adam(self.s.learning_rate),
            loss="sparse_categorical_crossentropy",
        )
        with self.progress.bar(self.s.epochs, desc) as bar:
            model.fit(
                model_input(q),
                y,
                batch_size=self.s.batch,
                epochs=self.s.epochs,
                shuffle=True,
                verbose=0,
                callbacks=[epoch_callback(keras, bar)],
            )
        return model

    def convert(self, spec: NetSpec, model: Any, q_rep: np.ndarray, seed: int) -> bytes:
        from theraloop.train.quantize import representative, to_int8

        quant = self.s.quant
        deploy = self.nets.build(
            self.keras, spec, (self.s.window, 1), len(CLASSES), batch=1, model_name=MODEL_NAME
        )
        # Training input is q / 128 = counts / (128 * 2**shift); the deployed model
        # takes counts, so the first kernel absorbs 1 / (128 * 2**shift).
        self.nets.fold_input_gain(model, deploy, 1.0 / (128.0 * quant.scale))
        rep = representative(quant.dequantize(q_rep)[..., None], quant, self.s.representative, seed)
        blob = to_int8(self.tf, deploy, rep)
        check_io(blob, quant, (self.s.window, 1), len(CLASSES))
        return blob

    def predict(self, model: Any, q: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(model_input(q), batch_size=1024, verbose=0), np.float64)


def cross_validate(
    trainer: Trainer,
    spec: NetSpec,
    q: np.ndarray,
    win: Windows,
    labels: np.ndarray,
    folds: list[Fold],
    check_reference: bool = True,
) -> CvResult:
    s = trainer.s
    t0 = time.monotonic()
    n = q.shape[0]
    float_prob = np.zeros((n, len(CLASSES)))
    int8_out = np.zeros((n, len(CLASSES)), np.int8)
    out_quant: OutputQuant | None = None
    compared = 0
    sizes = []
    y = labels[win.segment]
    for fold in folds:
        tr, te = window_split(win.segment, fold)
        check_disjoint(win.segment, tr, te)
        tr = tr[:: s.train_stride]
        seed = s.seed + 1000 * fold.index
        desc = f"{spec.name} fold {fold.index + 1}/{len(folds)}"
        model = trainer.fit(spec, q[tr], y[tr], seed, desc)
        float_prob[te] = trainer.predict(model, q[te])
        blob = trainer.convert(spec, model, q[tr], seed)
        oq = check_io(blob, s.quant, (s.window, 1), len(CLASSES))
        if out_quant is not None and oq != out_quant:
            raise QuantizationError(f"output quantisation differs between folds: {oq}")
        out_quant = oq
        runner = Int8Runner(blob, check_reference=check_reference)
        int8_out[te] = runner.run(q[te])
        compared += runner.compared
        sizes.append(
            {
                "flash_bytes": len(blob),
                "arena_bytes": runner.engine.arena_bytes,
                "macs": runner.engine.macs,
            }
        )
    assert out_quant is not None
    return CvResult(
        spec, len(folds), float_prob, int8_out, out_quant, compared, sizes, time.monotonic() - t0
    )


# ---- the decision over consecutive windows ----------------------------------------


def persistence_table(
    score: np.ndarray,
    out_quant: OutputQuant,
    win: Windows,
    labels: np.ndarray,
    s: Settings,
) -> list[dict[str, Any]]:
    """For every threshold and k-of-n rule: false alarms per hour on the concatenated
    interictal (D) and healthy (A) recordings, detection of the ictal (E) segments and
    the time to the first detection from the start of each ictal segment."""
    rows = []
    hop_s = s.hop_s
    by_class = {c: np.flatnonzero(labels == c) for c in range(len(CLASSES))}
    for p in s.thresholds:
        t = out_quant.quantize_prob(p)
        positive = score >= t
        for k, n in s.rules:
            row: dict[str, Any] = {"threshold_probability": p, "threshold_q": t, "k": k, "n": n}
            for c, key in ((INTERICTAL, "interictal"), (0, "healthy")):
                segs = by_class[c]
                if segs.size == 0:
                    continue
                order = np.concatenate([np.flatnonzero(win.segment == g) for g in segs])
                fired = metrics.persistence(positive[order], k, n)
                hours = order.size * hop_s / 3600.0
                alarms = metrics.rising_edges(fired)
                seg_alarm = [
                    bool(metrics.persistence(positive[win.segment == g], k, n).any()) for g in segs
                ]
                row[key] = {
                    "hours": hours,
                    "false_alarms": alarms,
                    "false_alarms_per_hour": alarms / hours,
                    "segments_with_alarm": int(np.sum(seg_alarm)),
                    "segments": int(segs.size),
                }
            latencies = []
            for g in by_class[ICTAL]:
                w = np.flatnonzero(win.segment == g)
                first = metrics.first_true(metrics.persistence(positive[w], k, n))
                if first is not None:
                    latencies.append(float(win.end_sample[w[first]] / s.rate_hz))
            n_ictal = int(by_class[ICTAL].size)
            row["ictal"] = {
                "segments": n_ictal,
                "detected": len(latencies),
                "sensitivity": len(latencies) / n_ictal if n_ictal else float("nan"),
                "latency_median_s": float(np.median(latencies)) if latencies else None,
                "latency_p90_s": float(np.percentile(latencies, 90)) if latencies else None,
                "latency_max_s": float(np.max(latencies)) if latencies else None,
            }
            # The device times a run with its millisecond clock, which advances
            # floor or ceil(hop x 1000 / rate) ms per step (exactly 248 ms for 62 samples
            # at 250 Hz): (n - 1) steps of the shorter length always make n consecutive
            # windows, and n - 1 windows never reach it.
            row["onset_ms"] = (n - 1) * _hop_ms_floor(s) if k == n else None
            rows.append(row)
    return rows


def _hop_ms_floor(s: Settings) -> int:
    return (s.hop * 1000) // s.rate_hz


def _hop_ms_ceil(s: Settings) -> int:
    return -((-s.hop * 1000) // s.rate_hz)


# ---- the recipe --------------------------------------------------------------------


def load_data(data_dir: Path, s: Settings) -> tuple[BonnData, int]:
    """The recipe's segments at the device rate, and the samples per segment as recorded."""
    data = load_bonn(data_dir)
    if s.segments_per_set is not None:
        keep = np.concatenate(
            [np.flatnonzero(data.labels == c)[: s.segments_per_set] for c in range(len(CLASSES))]
        )
        data = data.subset(keep)
    source_samples = int(data.segments.shape[1])
    return device_rate_data(data, s.rate_hz, first_window_end(s.feature_config())), source_samples


def contract(s: Settings, out_quant: OutputQuant, op: dict[str, Any]) -> dict[str, Any]:
    """What the firmware feeds the model and how it reads the result."""
    cfg = s.feature_config()
    return {
        "model": "seizure_detector",
        "kind": "raw_window_classifier",
        "input": {
            "shape": [1, s.window, 1],
            "dtype": "int8",
            "source": "raw window of channel 0 (tl_features_raw_window), oldest sample first",
            "unit": "ADC counts (int16)",
            "window_samples": s.window,
            "window_s": s.window_s,
            "sample_rate_hz": s.rate_hz,
            "training_data": f"Bonn EEG (recorded at {BONN_FS} Hz) resampled to {s.rate_hz} Hz "
            f"with resample_poly {resample_ratio(s.rate_hz)}, rounded and clipped to int16",
            "quantization": s.quant.to_json(),
        },
        "output": {
            "shape": [1, len(CLASSES)],
            "dtype": "int8",
            "classes": list(CLASSES),
            "scale": out_quant.scale,
            "zero_point": out_quant.zero_point,
            "score_class": ICTAL,
            "score": "the int8 output of class E_ictal (probability = (q - zero_point) * scale)",
        },
        "step": {
            "hop_samples": s.hop,
            "hop_s": s.hop_s,
            "inferences_per_step": 1,
        },
        "feature_config": cfg.contract(),
        "responsive_policy": {
            "responsive_threshold": op["threshold_q"],
            "threshold_probability": op["threshold_probability"],
            "consecutive_windows": op["n"],
            "responsive_onset_ms": op["onset_ms"],
        },
    }


def _summary(cv: CvResult, win: Windows, labels: np.ndarray) -> dict[str, Any]:
    n_seg = labels.size
    return {
        "float": classification(segment_probabilities(cv.float_prob, win.segment, n_seg), labels),
        "int8": classification(segment_probabilities(cv.int8_prob, win.segment, n_seg), labels),
        "window_level": {
            "float": classification(cv.float_prob, labels[win.segment]),
            "int8": classification(cv.int8_prob, labels[win.segment]),
        },
        "int8_vs_float_window_agreement": float(
            np.mean(np.argmax(cv.float_prob, 1) == np.argmax(cv.int8_out, 1))
        ),
    }


def train(
    recipe_config: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    name: str,
    tiny: bool,
    progress: Progress,
) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """Cross-validate, sweep, train the shipped model: (evaluation, .tflite, contract)."""
    s = Settings.from_config(recipe_config, tiny)
    t_start = time.monotonic()
    data, source_samples = load_data(data_dir, s)
    progress.note(
        f"seizure_detector: {data.segments.shape[0]} segments {data.counts} from "
        f"{display_path(data.folder)}, resampled {BONN_FS} -> {s.rate_hz} Hz "
        f"({resample_ratio(s.rate_hz)})"
    )
    cfg = s.feature_config()
    win = raw_windows(data.segments, cfg)
    q = s.quant.quantize(win.x)
    labels = data.labels
    folds = segment_folds(labels, s.folds, s.seed)
    trainer = Trainer(s, progress)

    main = cross_validate(trainer, s.net, q, win, labels, folds)
    cv_summary = _summary(main, win, labels)

    score = main.int8_out[:, ICTAL].astype(np.int64)
    table = persistence_table(score, main.out_quant, win, labels, s)
    p, k, n = s.operating_point
    chosen = next(
        (r for r in table if r["threshold_probability"] == p and r["k"] == k and r["n"] == n),
        None,
    )
    if chosen is None:
        raise RecipeError("decision.threshold/k/n must be one of the evaluated combinations")

    sweep_rows = []
    sweep_folds = segment_folds(labels, s.sweep_folds, s.seed) if s.sweep else []
    for spec in s.sweep:
        if spec.to_json() == s.net.to_json() and s.sweep_folds == s.folds:
            cv = main
        else:
            cv = cross_validate(trainer, spec, q, win, labels, sweep_folds)
        summ = _summary(cv, win, labels)
        sweep_rows.append(
            {
                "name": spec.name,
                "net": spec.to_json(),
                "describe": spec.describe(),
                "folds": cv.folds,
                "shipped": spec.to_json() == s.net.to_json(),
                "flash_bytes": cv.model_sizes[0]["flash_bytes"],
                "arena_bytes": cv.model_sizes[0]["arena_bytes"],
                "macs": cv.model_sizes[0]["macs"],
                "int8": {
                    key: summ["int8"][key]
                    for key in (
                        "ade_accuracy",
                        "d_vs_e_balanced_accuracy",
                        "sensitivity",
                        "specificity",
                    )
                },
                "float": {
                    key: summ["float"][key] for key in ("ade_accuracy", "d_vs_e_balanced_accuracy")
                },
                "seconds": cv.seconds,
            }
        )

    # The shipped model: every segment, same recipe.
    every = np.arange(0, q.shape[0], s.train_stride)
    final = trainer.fit(s.net, q[every], labels[win.segment[every]], s.seed, "shipped model")
    blob = trainer.convert(s.net, final, q[every], s.seed)
    out_quant = check_io(blob, s.quant, (s.window, 1), len(CLASSES))
    runner = Int8Runner(blob)
    train_out = runner.run(q)
    train_prob = out_quant.dequantize(train_out)
    train_seg = classification(segment_probabilities(train_prob, win.segment, labels.size), labels)

    evaluation: dict[str, Any] = {
        "recipe": name,
        "kind": "seizure_detector",
        "tiny": tiny,
        "command": f"theraloop model train {name}" + (" --tiny" if tiny else ""),
        "data": {
            "folder": display_path(data.folder),
            "segments": data.counts,
            "samples_per_segment": int(data.segments.shape[1]),
            "fs_hz": s.rate_hz,
            "source_fs_hz": BONN_FS,
            "source_samples_per_segment": source_samples,
            "resample": {
                "function": "theraloop.patient.replay.resample (scipy.signal.resample_poly, "
                "Kaiser anti-aliasing FIR), then round to nearest and clip to +-32767",
                "ratio": resample_ratio(s.rate_hz),
                "effective_fs_hz": BONN_FS * _frac(s.rate_hz),
                "time_base_error": s.rate_hz / (BONN_FS * _frac(s.rate_hz)) - 1.0,
                "why": "the device's AFE link carries 250, 500 or 1000 Hz only; the model "
                "must see rhythms at the frequencies the device samples them at",
            },
            "windows": int(q.shape[0]),
            "windows_per_segment": int(np.bincount(win.segment).max()),
        },
        "settings": {
            "window_samples": s.window,
            "window_s": s.window_s,
            "rate_hz": s.rate_hz,
            "hop_samples": s.hop,
            "hop_s": s.hop_s,
            "input_shift": s.input_shift,
            "epochs": s.epochs,
            "train_window_stride": s.train_stride,
            "batch": s.batch,
            "learning_rate": s.learning_rate,
            "seed": s.seed,
            "net": s.net.to_json(),
            "net_describe": s.net.describe(),
        },
        "cv": {
            "folds": s.folds,
            "unit": "segment",
            "split": "stratified k-fold over segments (every window of a segment on one side)",
            "aggregation": "mean of the segment's window probabilities, then argmax",
            **cv_summary,
            "engine_bit_exact": True,
            "windows_compared_with_tflite_micro": main.compared,
            "seconds": main.seconds,
        },
        "persistence": {
            "source": "cross-validated int8 engine outputs (each window from its held-out fold)",
            "rule": "k of the last n windows with score >= threshold; k = n is the device's "
            f"responsive rule (responsive_onset_ms = (n - 1) x {_hop_ms_floor(s)} ms: "
            + (
                f"the device's millisecond clock advances {_hop_ms_floor(s)} ms per "
                f"{s.hop}-sample step at {s.rate_hz} Hz)"
                if _hop_ms_floor(s) == _hop_ms_ceil(s)
                else f"the device's millisecond clock advances {_hop_ms_floor(s)} or "
                f"{_hop_ms_ceil(s)} ms per {s.hop}-sample step at {s.rate_hz} Hz)"
            ),
            "rows": table,
            "chosen": chosen,
        },
        "sweep": sweep_rows,
        "sweep_folds": s.sweep_folds,
        "shipped": {
            "file": f"{name}.tflite",
            "sha256": hashlib.sha256(blob).hexdigest(),
            "train_set": train_seg,
            "engine_bit_exact": True,
            "windows_compared_with_tflite_micro": runner.compared,
            "output_quantization": {"scale": out_quant.scale, "zero_point": out_quant.zero_point},
        },
        "budget": vars(s.budget),
        "seconds": time.monotonic() - t_start,
    }
    return evaluation, blob, contract(s, out_quant, chosen)


# ---- `theraloop model eval` ----------------------------------------------------------


def _from_contract(c: dict[str, Any]) -> tuple[FeatureConfig, InputQuant, OutputQuant]:
    inp = c["input"]
    window = int(inp["window_samples"])
    qj = inp["quantization"]
    out = c["output"]
    fc = c["feature_config"]
    cfg = FeatureConfig(
        fs=float(fc["sample_rate_hz"]),
        channels=1,
        bands=BONN_BANDS,
        hop=int(c["step"]["hop_samples"]),
        window_hops=int(fc["window_hops"]),
        raw_len=window,
        ll_frac_bits=BONN_FRAC_BITS,
        area_frac_bits=BONN_FRAC_BITS,
    )
    return (
        cfg,
        InputQuant(int(qj["shift"]), int(qj["zero_point"])),
        OutputQuant(float(out["scale"]), int(out["zero_point"])),
    )


def _frac(rate_hz: float) -> float:
    up, down = _ratio(round(rate_hz), BONN_FS)
    return up / down


def load_for_contract(cfg: FeatureConfig, data_dir: Path) -> BonnData:
    """A Bonn-like folder (173.61 Hz by definition) at the contract's sample rate."""
    return device_rate_data(load_bonn(data_dir), cfg.fs, first_window_end(cfg))


def device_samples(contract_: dict[str, Any], data_dir: Path, count: int = 60) -> np.ndarray:
    """int8 inputs of real windows, spread over every set and segment (device check)."""
    cfg, quant, _ = _from_contract(contract_)
    data = load_for_contract(cfg, data_dir)
    win = raw_windows(data.segments, cfg)
    q = quant.quantize(win.x)
    return q[np.linspace(0, q.shape[0] - 1, count).astype(np.int64)]


def evaluate(model_bytes: bytes, contract_: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The shipped int8 model, run by our engine, on a Bonn-like folder (whole segments)."""
    cfg, quant, out_quant = _from_contract(contract_)
    window = cfg.raw_len
    data = load_for_contract(cfg, data_dir)
    win = raw_windows(data.segments, cfg)
    check_io(model_bytes, quant, (window, 1), len(CLASSES))
    runner = Int8Runner(model_bytes, check_reference=False)
    q_out = runner.run(quant.quantize(win.x))
    seg_prob = segment_probabilities(out_quant.dequantize(q_out), win.segment, data.labels.size)
    result = classification(seg_prob, data.labels)
    result.update(
        {
            "folder": str(data.folder),
            "set_segments": data.counts,
            "source_fs_hz": BONN_FS,
            "sample_rate_hz": cfg.fs,
            "resample": resample_ratio(cfg.fs),
            "windows": int(win.x.shape[0]),
            "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
            "runner": "theraloop engine (host build)",
        }
    )
    return result
