#!/usr/bin/env python3
"""Generate the two benchmark models of the inference engine (see README.md).

    .venv/bin/python models/bench/generate.py

Both are small Keras models trained for a few epochs on synthetic data (so activations
look like a real model's, not random weights), converted to full-integer int8 TFLite
with a representative dataset. The script checks the MAC counts against the issue's
figures and that the tflite-micro reference runs each file.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
warnings.filterwarnings("ignore", category=UserWarning, module=r"tensorflow\.lite\..*")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "host_tools"))

import numpy as np  # noqa: E402

from theraloop.model.macs import model_macs  # noqa: E402
from theraloop.model.tflite_file import parse  # noqa: E402
from theraloop.tflite_reference import Reference  # noqa: E402

SEED = 20261101
FS_HZ = 1000.0  # sampling rate of the synthetic signal windows


def burst_windows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """256-sample windows: 1/f-like noise, half of them with a 13-30 Hz (beta) burst."""
    t = np.arange(256) / FS_HZ
    x = np.empty((n, 256, 1), np.float32)
    y = rng.integers(0, 2, n)
    for i in range(n):
        noise = np.cumsum(rng.normal(0, 0.15, 256))
        noise -= noise.mean()
        noise += rng.normal(0, 0.3, 256)
        if y[i]:
            f = rng.uniform(13, 30)
            center, width = rng.uniform(60, 196), rng.uniform(20, 60)
            env = np.exp(-0.5 * ((np.arange(256) - center) / width) ** 2)
            noise += rng.uniform(0.8, 1.5) * env * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
        x[i, :, 0] = noise
    return x, y


def feature_blobs(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """16 features, 3 overlapping Gaussian classes."""
    centers = rng.normal(0, 1.0, (3, 16))
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.normal(0, 0.8, (n, 16))).astype(np.float32)
    return x, y


def build_conv1d(keras: Any, batch: int | None) -> Any:
    L = keras.layers
    x = keras.Input((256, 1), batch_size=batch, name="signal")
    h = L.Conv1D(8, 7, strides=2, activation="relu")(x)
    h = L.MaxPooling1D(2)(h)
    h = L.Conv1D(16, 5, strides=2, activation="relu")(h)
    h = L.GlobalAveragePooling1D()(h)
    h = L.Dense(16, activation="relu")(h)
    h = L.Dense(2)(h)
    y = L.Softmax()(h)
    return keras.Model(x, y, name="conv1d_classifier")


def build_mlp(keras: Any, batch: int | None) -> Any:
    L = keras.layers
    x = keras.Input((16,), batch_size=batch, name="features")
    h = L.Dense(32, activation="relu")(x)
    h = L.Dense(16, activation="relu")(h)
    h = L.Dense(3)(h)
    y = L.Softmax()(h)
    return keras.Model(x, y, name="mlp_16_32_16_3")


def train_and_convert(
    tf: Any, keras: Any, build: Any, x: np.ndarray, y: np.ndarray, epochs: int
) -> bytes:
    # Train with batches, then copy the weights into the batch-1 model that ships.
    train = build(keras, None)
    train.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    hist = train.fit(x, y, batch_size=32, epochs=epochs, verbose=0, shuffle=False)
    print(f"  {train.name}: training accuracy {hist.history['accuracy'][-1]:.3f}")
    model = build(keras, 1)
    model.set_weights(train.get_weights())

    def rep() -> Any:
        for i in range(128):
            yield [x[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with contextlib.redirect_stdout(io.StringIO()):
        return bytes(conv.convert())


EXPECTED_MACS = {
    # conv1 125*8*7 + conv2 29*16*5*8 + dense 16*16 + dense 16*2
    "conv1d_classifier": 125 * 8 * 7 + 29 * 16 * 5 * 8 + 16 * 16 + 16 * 2,
    # 16*32 + 32*16 + 16*3
    "mlp_16_32_16_3": 16 * 32 + 32 * 16 + 16 * 3,
}


def main() -> int:
    import keras
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    tf.config.experimental.enable_op_determinism()
    ok = True
    for name, build, data, epochs in (
        ("conv1d_classifier", build_conv1d, burst_windows, 4),
        ("mlp_16_32_16_3", build_mlp, feature_blobs, 8),
    ):
        keras.backend.clear_session()
        keras.utils.set_random_seed(SEED)
        rng = np.random.default_rng(SEED)
        x, y = data(rng, 2048)
        blob = train_and_convert(tf, keras, build, x, y, epochs)
        path = HERE / f"{name}.tflite"
        path.write_bytes(blob)
        m = parse(blob)
        macs = model_macs(m)
        ops = " ".join(op.op for op in m.operators)
        print(f"  {path.name}: {len(blob)} bytes, {macs} MACs, ops: {ops}")
        if macs != EXPECTED_MACS[name]:
            print(f"  ERROR: expected {EXPECTED_MACS[name]} MACs", file=sys.stderr)
            ok = False
        ref = Reference(blob)
        q = ref.inputs[0]
        sample = np.clip(np.round(x[:1] / q.scale) + q.zero_point, -128, 127).astype(np.int8)
        out = ref.invoke(sample.reshape(q.shape))[0]
        print(f"  tflite-micro output for sample 0 (label {y[0]}): {out.tolist()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
