"""The beta-biomarker recipe: a tiny dense network on the device's own fixed-point features.

**Data.** Synthetic STN LFP from :mod:`theraloop.train.generator`, calibrated on the real
recording (``stn_lfp``, channel LFP_RIGHT_0, converted to ADC counts with
:func:`theraloop.dsp.agreement.stn_counts`), with artifacts. Every recording goes
through the device's feature code (:class:`theraloop.dsp.fixed.FixedFeatures`, the
firmware core built for the host): the model is trained on exactly the int32 vectors
the firmware computes.

**Labels**, per control step (one feature vector per hop, averaged over the device's
window): *artifact* when at least half of the averaging window is an artifact episode;
else *high beta* when the mean beta envelope over the window (Tinkhauser method on the
clean signal, see the generator) is at or above the real recording's 75th-percentile
threshold, *low beta* otherwise. Steps whose window touches an artifact (or its
300 ms recovery) without being mostly artifact are ambiguous and left out.

**Input.** The int32 feature values (LSB 2**-frac_bits each), int8
``q = clamp(round(v / 2**shift) - 128, -128, 127)``. The per-feature ``frac_bits`` of
the shipped configuration bring all features to similar magnitudes (int8 has one scale
for the whole vector); they are part of the model's contract.

**Output.** Softmax over low beta / high beta / artifact; the adaptive policy's score is
the int8 output of *high beta*, and *artifact* as the largest output marks the step's
score invalid.

**Evaluation.** Held-out generated recordings (other seeds), and the real recording with
labels from its own envelope threshold; float vs int8 (engine, checked bit-exact
against tflite-micro); a sweep of widths.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from theraloop.dsp.agreement import stn_counts
from theraloop.dsp.config import MAX_FRAC_BITS, FeatureConfig
from theraloop.dsp.design import Band
from theraloop.dsp.fixed import FixedFeatures
from theraloop.train import generator, metrics
from theraloop.train.cost import Budget
from theraloop.train.data import STN_CHANNEL, display_path, load_stn, stn_file
from theraloop.train.errors import DataError, RecipeError
from theraloop.train.nets import NetSpec
from theraloop.train.progress import Progress, epoch_callback
from theraloop.train.quantize import InputQuant, Int8Runner, OutputQuant, check_io

MODEL_NAME = "beta_biomarker"
CLASSES = ("low_beta", "high_beta", "artifact")
LOW, HIGH, ARTIFACT = 0, 1, 2
AMBIGUOUS = -1
RECOVERY_S = 0.3
PEAK_COUNTS = 8000.0


@dataclass(frozen=True)
class Settings:
    fs: int
    channel: str
    train_recordings: int
    test_recordings: int
    recording_s: float
    rate_range: tuple[float, float]
    amplitude_range: tuple[float, float]
    gain_range: tuple[float, float]
    artifact_every_s: float
    step_stride: int
    seed: int
    epochs: int
    batch: int
    learning_rate: float
    representative: int
    net: NetSpec
    sweep: tuple[NetSpec, ...]
    select_within: float
    calibration_iterations: int
    calibration_seconds: float
    budget: Budget
    adaptive_threshold: float

    @classmethod
    def from_config(cls, c: dict[str, Any]) -> Settings:
        try:
            g, t = c["generator"], c["train"]

            def pair(key: str) -> tuple[float, float]:
                lo, hi = g[key]
                return float(lo), float(hi)

            s = cls(
                fs=int(c.get("input", {}).get("fs", 1000)),
                channel=str(c.get("data", {}).get("channel", STN_CHANNEL)),
                train_recordings=int(g["train_recordings"]),
                test_recordings=int(g["test_recordings"]),
                recording_s=float(g["recording_s"]),
                rate_range=pair("rate_factor"),
                amplitude_range=pair("amplitude_factor"),
                gain_range=pair("gain"),
                artifact_every_s=float(g["artifact_every_s"]),
                step_stride=int(t.get("step_stride", 1)),
                seed=int(t["seed"]),
                epochs=int(t["epochs"]),
                batch=int(t.get("batch", 128)),
                learning_rate=float(t.get("learning_rate", 3e-3)),
                representative=int(t.get("representative", 1000)),
                net=NetSpec.from_dict(c["net"], name="beta_biomarker"),
                sweep=tuple(
                    NetSpec.from_dict(n, name=str(n.get("name", f"size{i}")))
                    for i, n in enumerate(c.get("sweep", {}).get("nets", []))
                ),
                select_within=float(c.get("sweep", {}).get("select_within", 0.01)),
                calibration_iterations=int(c.get("calibration", {}).get("iterations", 10)),
                calibration_seconds=float(c.get("calibration", {}).get("seconds", 180.0)),
                budget=Budget.from_dict(c.get("budget", {})),
                adaptive_threshold=float(c.get("decision", {}).get("threshold", 0.5)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise RecipeError(f"beta_biomarker recipe: {e}") from e
        if s.fs not in (250, 500, 1000):
            raise RecipeError("input.fs must be 250, 500 or 1000 Hz (the device's AFE rates)")
        if s.step_stride < 1 or s.train_recordings < 1 or s.test_recordings < 1:
            raise RecipeError("recording counts and train.step_stride must be >= 1")
        return s


# ---- features and labels --------------------------------------------------------------


def choose_frac_bits(values: np.ndarray, base: FeatureConfig) -> FeatureConfig:
    """Per-feature fractional bits that bring the 95th percentiles of all features (real
    units, from ``values``: artifact-free signals) to the same power of two as the
    largest, within 0..12."""
    p95 = np.maximum(np.percentile(values, 95, axis=0), 1e-9)
    top = 2.0 ** math.ceil(math.log2(float(p95.max())))
    bits = [int(np.clip(math.floor(math.log2(top / v)), 0, MAX_FRAC_BITS)) for v in p95]
    n_bands = len(base.bands)
    bands = tuple(dataclasses.replace(b, frac_bits=bits[i]) for i, b in enumerate(base.bands))
    i = n_bands
    ll = bits[i] if base.line_length else base.ll_frac_bits
    i += 1 if base.line_length else 0
    area = bits[i] if base.area else base.area_frac_bits
    return dataclasses.replace(base, bands=bands, ll_frac_bits=ll, area_frac_bits=area)


def input_shift(values: np.ndarray) -> int:
    """int8 scale 2**shift: the smallest power of two with which the 99th percentile of
    every feature (artifact-free signals, device units) fits the int8 range (artifacts
    then saturate, which is what marks them)."""
    p99 = float(np.percentile(values, 99, axis=0).max())
    return max(0, math.ceil(math.log2(max(p99, 1.0) / 255.0)))


@dataclass
class StepData:
    """One feature vector per control step with its label (and where it came from)."""

    values: np.ndarray
    """(N, n_features) int32 device values."""
    labels: np.ndarray
    envelope: np.ndarray
    """Mean beta envelope over each step's window (counts)."""
    recording: np.ndarray

    def select(self, mask: np.ndarray) -> StepData:
        return StepData(
            self.values[mask], self.labels[mask], self.envelope[mask], self.recording[mask]
        )


def window_means(per_sample: np.ndarray, hop: int, window: int, hops: int) -> np.ndarray:
    """Mean of ``per_sample`` over the window ending at each hop (hop index 0..hops-1)."""
    c = np.concatenate([[0.0], np.cumsum(np.asarray(per_sample, np.float64))])
    end = (np.arange(hops) + 1) * hop
    start = np.maximum(end - window, 0)
    return (c[end] - c[start]) / np.maximum(end - start, 1)


def label_steps(
    env: np.ndarray,
    artifact: np.ndarray,
    threshold: float,
    cfg: FeatureConfig,
    hops: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, mean envelope) per hop; see the module docstring."""
    window = cfg.window_samples
    env_mean = window_means(env, cfg.hop, window, hops)
    art = np.asarray(artifact) != 0
    art_frac = window_means(art, cfg.hop, window, hops)
    recovery = int(RECOVERY_S * cfg.fs)
    near = art.copy()
    if art.any() and recovery > 0:
        # Each artifact sample also marks the following `recovery` samples.
        c = np.concatenate([[0], np.cumsum(art.astype(np.int64))])
        idx = np.arange(art.size)
        near = (c[idx + 1] - c[np.maximum(idx + 1 - recovery - 1, 0)]) > 0
    near_frac = window_means(near, cfg.hop, window, hops)
    labels = np.where(env_mean >= threshold, HIGH, LOW)
    labels = np.where(near_frac > 0, AMBIGUOUS, labels)
    labels = np.where(art_frac >= 0.5, ARTIFACT, labels)
    full = (np.arange(hops) + 1) * cfg.hop >= window
    labels = np.where(full, labels, AMBIGUOUS)
    return labels, env_mean


def _clean_counts(rec: generator.Recording) -> np.ndarray:
    return np.clip(np.round(rec.clean), -32768, 32767).astype(np.int16)


def features_of(x: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    ff = FixedFeatures(cfg)
    return ff.run(np.asarray(x, np.int16)).values


def recordings(
    cal: generator.Calibration, s: Settings, count: int, seed: int
) -> list[generator.Recording]:
    """``count`` generated recordings with per-recording beta state, gain and artifacts."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        out.append(
            generator.generate(
                cal,
                s.recording_s,
                rng,
                rate_factor=float(rng.uniform(*s.rate_range)),
                amplitude_factor=float(rng.uniform(*s.amplitude_range)),
                gain=float(rng.uniform(*s.gain_range)),
                artifacts=True,
                artifact_every_s=s.artifact_every_s,
            )
        )
    return out


def step_data(
    recs: list[generator.Recording], cal: generator.Calibration, cfg: FeatureConfig, stride: int
) -> StepData:
    vals, labs, envs, ids = [], [], [], []
    for i, rec in enumerate(recs):
        v = features_of(rec.x, cfg)
        env = generator.beta_envelope(rec.clean, rec.fs, cal.real.peak_hz)
        lab, env_mean = label_steps(env, rec.artifact, cal.threshold, cfg, v.shape[0])
        keep = np.flatnonzero(lab != AMBIGUOUS)[::stride]
        vals.append(v[keep])
        labs.append(lab[keep])
        envs.append(env_mean[keep])
        ids.append(np.full(keep.size, i))
    return StepData(
        np.concatenate(vals), np.concatenate(labs), np.concatenate(envs), np.concatenate(ids)
    )


def real_steps(
    counts: np.ndarray, fs: float, cal: generator.Calibration, cfg: FeatureConfig
) -> StepData:
    """The real recording: features from the device code, labels from its own envelope."""
    v = features_of(counts, cfg)
    env = generator.beta_envelope(counts, fs, cal.real.peak_hz)
    lab, env_mean = label_steps(env, np.zeros(counts.size, np.int8), cal.threshold, cfg, v.shape[0])
    keep = lab != AMBIGUOUS
    return StepData(v[keep], lab[keep], env_mean[keep], np.zeros(int(keep.sum()), np.int64))


# ---- training ------------------------------------------------------------------------


def model_input(q: np.ndarray) -> np.ndarray:
    """int8 (zero point -128) -> float training input in [0, 1)."""
    return (np.asarray(q, np.float32) + 128.0) / 256.0


class Trainer:
    def __init__(self, s: Settings, quant: InputQuant, n_features: int, progress: Progress) -> None:
        from theraloop.train import nets

        self.s = s
        self.quant = quant
        self.n_features = n_features
        self.progress = progress
        self.nets = nets
        self.tf, self.keras = nets.tensorflow()

    def fit(self, spec: NetSpec, q: np.ndarray, y: np.ndarray, seed: int) -> Any:
        keras = self.keras
        self.nets.seed(keras, seed)
        model = self.nets.build(
            keras, spec, (self.n_features,), len(CLASSES), model_name=MODEL_NAME
        )
        model.compile(
            optimizer=keras.optimizers.Adam(self.s.learning_rate),
            loss="sparse_categorical_crossentropy",
        )
        counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
        weights = {
            c: float(y.size / (len(CLASSES) * max(counts[c], 1))) for c in range(len(CLASSES))
        }
        with self.progress.bar(self.s.epochs, spec.name) as bar:
            model.fit(
                model_input(q),
                y,
                batch_size=self.s.batch,
                epochs=self.s.epochs,
                shuffle=True,
                verbose=0,
                class_weight=weights,
                callbacks=[epoch_callback(keras, bar)],
            )
        return model

    def convert(self, spec: NetSpec, model: Any, q_rep: np.ndarray) -> bytes:
        from theraloop.train.quantize import representative, to_int8

        deploy = self.nets.build(
            self.keras, spec, (self.n_features,), len(CLASSES), batch=1, model_name=MODEL_NAME
        )
        # Training input is (q + 128) / 256 = v / (256 * 2**shift).
        self.nets.fold_input_gain(model, deploy, 1.0 / (256.0 * self.quant.scale))
        rep = representative(
            self.quant.dequantize(q_rep), self.quant, self.s.representative, self.s.seed
        )
        blob = to_int8(self.tf, deploy, rep)
        check_io(blob, self.quant, (self.n_features,), len(CLASSES))
        return blob

    def predict(self, model: Any, q: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict(model_input(q), batch_size=4096, verbose=0), np.float64)


def state_metrics(prob: np.ndarray, data: StepData) -> dict[str, Any]:
    pred = np.argmax(prob, axis=1)
    y = data.labels
    clean = y != ARTIFACT
    hb = metrics.Binary.of(y[clean] == HIGH, pred[clean] == HIGH)
    art = metrics.Binary.of(y == ARTIFACT, pred == ARTIFACT)
    cm = metrics.confusion(y, pred, len(CLASSES))
    recall = cm.diagonal() / np.maximum(cm.sum(1), 1)
    present = cm.sum(1) > 0
    out: dict[str, Any] = {
        "steps": int(y.size),
        "accuracy": metrics.accuracy(y, pred),
        "balanced_accuracy": float(np.mean(recall[present])),
        "kappa": metrics.cohen_kappa(y, pred, len(CLASSES)),
        "high_beta": hb.to_json(),
        "artifact": art.to_json() if (y == ARTIFACT).any() else None,
        "predicted_artifact_on_clean": float(np.mean(pred[clean] == ARTIFACT))
        if clean.any()
        else None,
        "confusion": cm.tolist(),
        "label_share": (np.bincount(y, minlength=len(CLASSES)) / max(y.size, 1)).tolist(),
    }
    if clean.sum() > 2:
        rho = stats.spearmanr(prob[clean, HIGH], data.envelope[clean]).statistic
        out["score_envelope_spearman"] = float(rho)
    return out


def evaluate_model(
    runner: Int8Runner, out_quant: OutputQuant, quant: InputQuant, data: StepData
) -> dict[str, Any]:
    q_out = runner.run(quant.quantize(data.values))
    return state_metrics(out_quant.dequantize(q_out), data)


# ---- the recipe --------------------------------------------------------------------


def base_feature_config(fs: int) -> FeatureConfig:
    """The built-in configuration (bands, hop 20 ms, window 500 ms); frac bits chosen later."""
    return FeatureConfig.default(fs)


def contract(
    s: Settings, cfg: FeatureConfig, quant: InputQuant, out_quant: OutputQuant
) -> dict[str, Any]:
    t = out_quant.quantize_prob(s.adaptive_threshold)
    return {
        "model": "beta_biomarker",
        "kind": "feature_classifier",
        "input": {
            "shape": [1, cfg.n_features],
            "dtype": "int8",
            "source": "feature vector of the step (tl_features_read), device order; only "
            "when tl_features_window_full()",
            "features": [f.name for f in cfg.features()],
            "unit": "device value: LSB = 2**-frac_bits of each feature (see feature_config)",
            "quantization": quant.to_json(),
        },
        "output": {
            "shape": [1, len(CLASSES)],
            "dtype": "int8",
            "classes": list(CLASSES),
            "scale": out_quant.scale,
            "zero_point": out_quant.zero_point,
            "score_class": HIGH,
            "artifact_class": ARTIFACT,
            "score": "the int8 output of class high_beta",
            "score_valid": "0 when the largest output is class artifact",
        },
        "step": {"hop_samples": cfg.hop, "hop_s": cfg.hop / cfg.fs, "inferences_per_step": 1},
        "feature_config": cfg.contract(),
        "adaptive_policy": {
            "threshold_upper": t,
            "threshold_probability": s.adaptive_threshold,
            "note": "single-threshold mode: score >= threshold_upper -> upper amplitude",
        },
    }


def _net_row(
    spec: NetSpec,
    blob: bytes,
    runner: Int8Runner,
    gen_m: dict[str, Any],
    real_m: dict[str, Any],
    shipped: bool,
) -> dict[str, Any]:
    return {
        "name": spec.name,
        "net": spec.to_json(),
        "describe": spec.describe(),
        "shipped": shipped,
        "flash_bytes": len(blob),
        "arena_bytes": runner.engine.arena_bytes,
        "macs": runner.engine.macs,
        "generated": {k: gen_m[k] for k in ("accuracy", "balanced_accuracy", "kappa")},
        "real": {
            "accuracy": real_m["accuracy"],
            "kappa": real_m["kappa"],
            "high_beta_balanced_accuracy": real_m["high_beta"]["balanced_accuracy"],
        },
    }


def train(
    recipe_config: dict[str, Any],
    data_dir: Path,
    out_dir: Path,
    name: str,
    tiny: bool,
    progress: Progress,
) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    """Calibrate, generate, train and evaluate: (evaluation, .tflite, contract)."""
    s = Settings.from_config(recipe_config)
    t_start = time.monotonic()
    raw, fs = load_stn(data_dir, s.channel)
    if int(fs) != s.fs:
        raise DataError(f"the STN recording is at {fs} Hz, the recipe expects {s.fs} Hz")
    counts = stn_counts(raw, PEAK_COUNTS)
    progress.note(
        f"beta_biomarker: calibrating the generator on {stn_file(data_dir).name} "
        f"({s.channel}, {counts.size / fs:.1f} s)"
    )
    cal = generator.calibrate(counts, fs, s.seed, s.calibration_iterations, s.calibration_seconds)

    # Independent simulation for the calibration check and the figure.
    check = generator.generate(cal, 300.0, np.random.default_rng(s.seed + 7), artifacts=False)
    gen_meas = generator.measure(check.x, fs, peak_hz=cal.real.peak_hz)
    from theraloop.train.plots import calibration_figure

    out_dir.mkdir(parents=True, exist_ok=True)
    calibration_figure(counts, check.x, fs, cal, gen_meas, out_dir / "calibration.png")

    train_recs = recordings(cal, s, s.train_recordings, s.seed + 1)
    test_recs = recordings(cal, s, s.test_recordings, s.seed + 2)

    base = base_feature_config(s.fs)
    probe_cfg = dataclasses.replace(base, raw_len=0)
    # Feature magnitudes of the neural signal (artifacts are meant to saturate).
    probe = np.concatenate(
        [
            FixedFeatures(probe_cfg).run(_clean_counts(r)).scaled()
            for r in train_recs[: max(4, len(train_recs) // 4)]
        ]
    )
    cfg = choose_frac_bits(probe, probe_cfg)
    scaled_probe = probe * np.array([2.0**f.frac_bits for f in cfg.features()])
    quant = InputQuant(shift=input_shift(scaled_probe), zero_point=-128)

    with progress.bar(3, "features (device code)") as bar:
        train_d = step_data(train_recs, cal, cfg, s.step_stride)
        bar.update(1)
        test_d = step_data(test_recs, cal, cfg, 1)
        bar.update(1)
        real_d = real_steps(counts, fs, cal, cfg)
        bar.update(1)
    q_train = quant.quantize(train_d.values)
    q_test = quant.quantize(test_d.values)

    trainer = Trainer(s, quant, cfg.n_features, progress)
    # Every width of the sweep (or only [net] when there is none); the shipped one is the
    # smallest (fewest MACs) within `select_within` of the best balanced accuracy on the
    # held-out generated recordings -- never chosen on the real recording.
    specs = list(s.sweep) if s.sweep else [s.net]
    trained = []
    for spec in specs:
        model = trainer.fit(spec, q_train, train_d.labels, s.seed)
        blob = trainer.convert(spec, model, q_train)
        out_quant = check_io(blob, quant, (cfg.n_features,), len(CLASSES))
        runner = Int8Runner(blob)
        gen_m = evaluate_model(runner, out_quant, quant, test_d)
        real_m = evaluate_model(runner, out_quant, quant, real_d)
        trained.append((spec, model, blob, out_quant, runner, gen_m, real_m))
    best = max(t[5]["balanced_accuracy"] for t in trained)
    eligible = [t for t in trained if t[5]["balanced_accuracy"] >= best - s.select_within]
    chosen = min(eligible, key=lambda t: (t[4].engine.macs, len(t[2])))
    rows = [
        _net_row(spec, blob, runner, gen_m, real_m, spec is chosen[0])
        for spec, _, blob, _, runner, gen_m, real_m in trained
    ]
    spec, model, blob, out_quant, runner, gen_m, real_m = chosen
    shipped: dict[str, Any] = {
        "spec": spec,
        "blob": blob,
        "out_quant": out_quant,
        "float_generated": state_metrics(trainer.predict(model, q_test), test_d),
        "float_real": state_metrics(trainer.predict(model, quant.quantize(real_d.values)), real_d),
        "int8_generated": gen_m,
        "int8_real": real_m,
        "compared": sum(t[4].compared for t in trained),
    }
    blob = shipped["blob"]
    out_quant = shipped["out_quant"]
    features = [f.to_dict() for f in cfg.features()]
    evaluation: dict[str, Any] = {
        "recipe": name,
        "kind": "beta_biomarker",
        "tiny": tiny,
        "command": f"theraloop model train {name}" + (" --tiny" if tiny else ""),
        "data": {
            "file": display_path(stn_file(data_dir)),
            "channel": s.channel,
            "fs_hz": fs,
            "seconds": counts.size / fs,
            "counts_scaling": f"stn_counts: median removed, 99.99th percentile of |x| = "
            f"{PEAK_COUNTS:.0f} counts",
        },
        "calibration": {
            **cal.to_json(),
            "generated": gen_meas.to_json(),
            "generated_seconds": 300.0,
            "figure": "calibration.png",
        },
        "generator": {
            "train_recordings": s.train_recordings,
            "test_recordings": s.test_recordings,
            "recording_s": s.recording_s,
            "rate_factor": list(s.rate_range),
            "amplitude_factor": list(s.amplitude_range),
            "gain": list(s.gain_range),
            "artifact_every_s": s.artifact_every_s,
            "train_steps": int(train_d.labels.size),
            "test_steps": int(test_d.labels.size),
            "train_label_share": (
                np.bincount(train_d.labels, minlength=3) / train_d.labels.size
            ).tolist(),
        },
        "features": {
            "config": cfg.contract(),
            "frac_bits": {f["name"]: f["frac_bits"] for f in features},
            "input_quantization": quant.to_json(),
        },
        "settings": {
            "epochs": s.epochs,
            "batch": s.batch,
            "learning_rate": s.learning_rate,
            "seed": s.seed,
            "step_stride": s.step_stride,
            "net": shipped["spec"].to_json(),
            "net_describe": shipped["spec"].describe(),
            "selection": (
                f"smallest of the sweep within {s.select_within:.3f} of the best balanced "
                "accuracy on the held-out generated recordings"
                if s.sweep
                else "the recipe's [net] (no sweep)"
            ),
        },
        "results": {
            "generated": {"float": shipped["float_generated"], "int8": shipped["int8_generated"]},
            "real": {"float": shipped["float_real"], "int8": shipped["int8_real"]},
            "engine_bit_exact": True,
            "steps_compared_with_tflite_micro": shipped["compared"],
        },
        "sweep": rows,
        "shipped": {
            "file": f"{name}.tflite",
            "sha256": hashlib.sha256(blob).hexdigest(),
            "output_quantization": {"scale": out_quant.scale, "zero_point": out_quant.zero_point},
        },
        "budget": vars(s.budget),
        "seconds": time.monotonic() - t_start,
    }
    return evaluation, blob, contract(s, cfg, quant, out_quant)


# ---- `theraloop model eval` ----------------------------------------------------------


def config_from_contract(c: dict[str, Any]) -> FeatureConfig:
    fc = c["feature_config"]
    bands = []
    for f in fc["features"]:
        if f["kind"] == "band_power" and f["channel"] == 0:
            lo, hi = f["band_hz"]
            bands.append(
                Band(f["name"].split(".")[1], float(lo), float(hi), frac_bits=int(f["frac_bits"]))
            )
    by_kind = {f["kind"]: f for f in fc["features"] if f["channel"] == 0}
    return FeatureConfig(
        fs=float(fc["sample_rate_hz"]),
        channels=int(fc["channels"]),
        bands=tuple(bands),
        hop=int(fc["hop"]),
        window_hops=int(fc["window_hops"]),
        raw_len=int(fc["raw_len"]),
        line_length="line_length" in by_kind,
        area="area" in by_kind,
        ll_frac_bits=int(by_kind.get("line_length", {}).get("frac_bits", 4)),
        area_frac_bits=int(by_kind.get("area", {}).get("frac_bits", 4)),
    )


def _recording_steps(
    contract_: dict[str, Any], data: Path, channel: str
) -> tuple[StepData, FeatureConfig, generator.Measurement, InputQuant, OutputQuant]:
    cfg = config_from_contract(contract_)
    qj = contract_["input"]["quantization"]
    quant = InputQuant(int(qj["shift"]), int(qj["zero_point"]))
    out = contract_["output"]
    out_quant = OutputQuant(float(out["scale"]), int(out["zero_point"]))
    raw, fs = load_stn(data, channel)
    if abs(fs - cfg.fs) > 1e-6:
        raise DataError(f"the recording is at {fs} Hz, the model's features at {cfg.fs} Hz")
    counts = stn_counts(raw, PEAK_COUNTS)
    meas = generator.measure(counts, fs)
    # Only the peak and the threshold of the recording itself are used for the labels.
    ref = generator.Calibration(
        fs,
        generator.fit_aperiodic(*generator.psd(counts, fs)),
        generator.BurstModel(1.0, 1.0, 1.0, 1.0, 1.0, meas.peak_hz, 1.0),
        meas.bursts.threshold,
        meas,
        [],
    )
    return real_steps(counts, fs, ref, cfg), cfg, meas, quant, out_quant


def device_samples(
    contract_: dict[str, Any], data: Path, count: int = 60, channel: str = STN_CHANNEL
) -> np.ndarray:
    """int8 inputs of real feature vectors spread over the recording (device check)."""
    d, _, _, quant, _ = _recording_steps(contract_, data, channel)
    q = quant.quantize(d.values)
    return q[np.linspace(0, q.shape[0] - 1, count).astype(np.int64)]


def evaluate(
    model_bytes: bytes, contract_: dict[str, Any], data: Path, channel: str = STN_CHANNEL
) -> dict[str, Any]:
    """The shipped int8 model, run by our engine, on an STN-like recording: agreement of
    its state with the envelope-threshold beta state of the recording itself."""
    d, cfg, meas, quant, out_quant = _recording_steps(contract_, data, channel)
    check_io(model_bytes, quant, (cfg.n_features,), len(CLASSES))
    runner = Int8Runner(model_bytes, check_reference=False)
    result = evaluate_model(runner, out_quant, quant, d)
    result.update(
        {
            "file": str(stn_file(data)),
            "channel": channel,
            "peak_hz": meas.peak_hz,
            "threshold_counts": meas.bursts.threshold,
            "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
            "runner": "theraloop engine (host build)",
        }
    )
    return result
