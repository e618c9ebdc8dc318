"""Generate the model-slot test images of tests/unit/test_model_slots.c with real imgtool.

Run from the repository root:
    .venv/bin/python tests/unit/data/model_slots/gen_model_slot_images.py

Every image is what `theraloop sign` / `imgtool sign --non-bootable --header-size 0x20`
makes for a model slot (slot size 0x20000), signed with the throwaway test key of
tests/unit/data/mcuboot/ unless noted:
  good_v1      models/beta_biomarker/beta_biomarker.tflite, version 1.0.0+1
  good_v2      the same model, version 1.1.0+2 (another image hash, same model hash)
  unsigned     good_v1's payload, hash TLV only
  other_key    signed with other-key-ed25519.pem (made here once, test use only)
  bootable     signed without --non-bootable (a firmware image, wrong kind)
  garbage      a payload that is not a .tflite file (the engine refuses it)
  contract     models/bench/mlp_16_32_16_3.tflite (16 inputs: not the beta pipeline's 6)
  arena        big_arena.tflite: 6 inputs -> zero padding to 12006 -> Conv1D(2, 1) -> mean -> 3
               outputs, which needs more than the 16 KiB slot arena (made once with TensorFlow)
Writes model_slot_images.h (C arrays, the test key as raw bytes and key hash, the
payload SHA-256 of good_v1). Ed25519 signatures are deterministic: re-running gives the
same files.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[3]
KEY = ROOT / "tests/unit/data/mcuboot/test-key-ed25519.pem"
OTHER_KEY = HERE / "other-key-ed25519.pem"
BIG = HERE / "big_arena.tflite"
BETA = ROOT / "models/beta_biomarker/beta_biomarker.tflite"
MLP = ROOT / "models/bench/mlp_16_32_16_3.tflite"
IMGTOOL = [sys.executable, "-m", "imgtool.main"]
SLOT = 0x20000


def imgtool(*args: str) -> None:
    subprocess.run([*IMGTOOL, *args], check=True)


def c_array(name: str, data: bytes) -> str:
    rows = [", ".join(f"0x{b:02x}" for b in data[i : i + 12]) for i in range(0, len(data), 12)]
    body = ",\n    ".join(rows)
    return f"static const uint8_t {name}[{len(data)}] = {{\n    {body}\n}};\n"


def pubkey(key: Path) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    priv = serialization.load_pem_private_key(key.read_bytes(), password=None)
    assert isinstance(priv, ed25519.Ed25519PrivateKey)
    pub = priv.public_key()
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return raw, hashlib.sha256(der).digest()


def make_big_arena_model() -> None:
    """A valid int8 model with 6 inputs whose activations need about 36 KiB of arena."""
    import numpy as np
    import tensorflow as tf

    tf.keras.utils.set_random_seed(7)
    inp = tf.keras.Input(shape=(6,), batch_size=1)
    x = tf.keras.layers.Reshape((6, 1))(inp)
    x = tf.keras.layers.ZeroPadding1D((0, 12000))(x)
    x = tf.keras.layers.Conv1D(2, 1, activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    x = tf.keras.layers.Dense(3)(x)
    out = tf.keras.layers.Softmax()(x)
    model = tf.keras.Model(inp, out)
    rng = np.random.default_rng(7)

    def rep():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield [rng.normal(size=(1, 6)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    BIG.write_bytes(conv.convert())


def sign(
    tmp: Path, name: str, payload: bytes, version: str, key: Path | None, bootable: bool = False
) -> bytes:
    src = tmp / f"{name}.tflite"
    src.write_bytes(payload)
    out = tmp / f"{name}.bin"
    args = ["sign", "--header-size", "0x20", "--pad-header", "--align", "4"]
    args += ["--version", version, "--slot-size", hex(SLOT)]
    if not bootable:
        args.append("--non-bootable")
    if key is not None:
        args += ["-k", str(key)]
    imgtool(*args, str(src), str(out))
    return out.read_bytes()


def main() -> None:
    if not OTHER_KEY.exists():
        imgtool("keygen", "-k", str(OTHER_KEY), "-t", "ed25519")
    if not BIG.exists():
        make_big_arena_model()
    beta = BETA.read_bytes()
    garbage = bytes((i * 37 + 11) & 0xFF for i in range(2048))
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        images = {
            "good_v1": sign(tmp, "good_v1", beta, "1.0.0+1", KEY),
            "good_v2": sign(tmp, "good_v2", beta, "1.1.0+2", KEY),
            "unsigned": sign(tmp, "unsigned", beta, "1.0.0+1", None),
            "other_key": sign(tmp, "other_key", beta, "1.0.0+1", OTHER_KEY),
            "bootable": sign(tmp, "bootable", beta, "1.0.0+1", KEY, bootable=True),
            "garbage": sign(tmp, "garbage", garbage, "1.0.0+1", KEY),
            "contract": sign(tmp, "contract", MLP.read_bytes(), "1.0.0+1", KEY),
            "arena": sign(tmp, "arena", BIG.read_bytes(), "1.0.0+1", KEY),
        }
    raw, key_hash = pubkey(KEY)
    parts = [
        "/* Generated by tests/unit/data/model_slots/gen_model_slot_images.py - do not edit. */\n",
        "#ifndef MODEL_SLOT_IMAGES_H\n#define MODEL_SLOT_IMAGES_H\n#include <stdint.h>\n\n",
        c_array("ms_test_pubkey", raw),
        c_array("ms_test_key_hash", key_hash),
        c_array("ms_beta_sha256", hashlib.sha256(beta).digest()),
        f"#define MS_BETA_LEN {len(beta)}u\n",
    ]
    for name, img in images.items():
        parts.append(c_array(f"ms_{name}", img))
    parts.append("\n#endif\n")
    (HERE / "model_slot_images.h").write_text("".join(parts))
    for name, img in images.items():
        print(f"{name}: {len(img)} bytes")


if __name__ == "__main__":
    main()
