"""What the model update system tests share: images, an emulated device with its own
flash file, the CLI against it, and requests sent without waiting for the answer.

Not a test module (no `test_` prefix); imported by tests/system/test_qemu_model_update*.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from click.testing import CliRunner, Result
from smp import packet as smppacket

from theraloop.cli import main
from theraloop.device import Device
from theraloop.loop import client
from theraloop.mgmt import InfoReadResponse, request_class
from theraloop.model.tflite_file import parse
from theraloop.sign import sign_image
from theraloop.sim.qemu import QemuRunner
from theraloop.update.client import MODEL_GROUP, ModelCommand, model_list

ROOT = Path(__file__).resolve().parents[2]
BETA = ROOT / "models/beta_biomarker/beta_biomarker.tflite"
SEIZURE = ROOT / "models/seizure_detector/seizure_detector.tflite"
MLP = ROOT / "models/bench/mlp_16_32_16_3.tflite"
BIG_ARENA = ROOT / "tests/unit/data/model_slots/big_arena.tflite"
DEV_KEY = ROOT / "keys/dev-ed25519.pem"
OTHER_KEY = ROOT / "tests/unit/data/model_slots/other-key-ed25519.pem"
MODEL_SLOT_SIZE = 0x20000
MODEL_HEADER_SIZE = 0x20
BOOT_TIMEOUT_S = 10.0


def retrained(src: Path, out: Path) -> Path:
    """`src` with some weights of its hidden layer moved by one step: a "retrained" model
    with the same contract (inputs, outputs, quantization) and another SHA-256."""
    data = bytearray(src.read_bytes())
    weights = max(
        (t for t in parse(bytes(data)).tensors if t.data is not None and t.dtype == "INT8"),
        key=lambda t: len(t.data or b""),
    )
    assert weights.data is not None and data.count(weights.data) == 1
    at = data.find(weights.data)
    w = np.frombuffer(weights.data, dtype=np.int8).astype(np.int16)
    step = np.where(w < 0, 1, -1) * (np.arange(w.size) % 3 == 0)
    data[at : at + len(w)] = np.clip(w + step, -127, 127).astype(np.int8).tobytes()
    out.write_bytes(bytes(data))
    return out


def sign(src: Path, out: Path, *, key: Path = DEV_KEY, version: str = "1.0.0", **kw: Any) -> bytes:
    """A model slot image of `src` (theraloop sign's layout unless overridden)."""
    sign_image(src, key, out, version=version, **kw)
    return out.read_bytes()


def sign_unsigned(src: Path, out: Path) -> bytes:
    """imgtool's image without a key: the SHA-256 TLV only, no signature."""
    subprocess.run(
        [sys.executable, "-m", "imgtool.main", "sign", "--header-size", hex(MODEL_HEADER_SIZE),
         "--pad-header", "--align", "4", "--version", "1.0.0", "--slot-size",
         hex(MODEL_SLOT_SIZE), "--non-bootable", str(src), str(out)],
        check=True, capture_output=True,
    )  # fmt: skip
    return out.read_bytes()


def hexed(value: Any) -> str:
    return value.hex() if isinstance(value, bytes | bytearray) else str(value)


@dataclass
class Emu:
    """The firmware in QEMU on a flash file of its own that outlives QEMU restarts."""

    runner: QemuRunner

    @classmethod
    def create(cls, elf: Path, storage_dir: Path, **kwargs: Any) -> Emu:
        return cls(QemuRunner(elf, storage_dir=storage_dir, **kwargs))

    def boot(self) -> InfoReadResponse:
        """Start QEMU (same flash file) and wait until the firmware answers."""
        self.runner.start()
        return self.wait_ready()

    def wait_ready(self) -> InfoReadResponse:
        dev = Device(self.runner.cli_url, timeout=2.0)
        try:
            return dev.wait_ready(BOOT_TIMEOUT_S)
        except Exception as exc:
            raise AssertionError(f"firmware did not answer: {self.runner.output()}") from exc
        finally:
            dev.close()

    def restart(self) -> InfoReadResponse:
        """A clean power cycle: QEMU stopped and started on the same flash file."""
        self.runner.stop()
        return self.boot()

    def power_cut(self) -> InfoReadResponse:
        """SIGKILL (whatever was being written stays half done), then boot again."""
        self.runner.power_cut()
        return self.boot()

    def stop(self) -> None:
        self.runner.stop()

    def device(self, timeout: float = 5.0) -> Device:
        dev = Device(self.runner.cli_url, timeout=timeout)
        dev.open()
        return dev

    def cli(self, *args: str) -> Result:
        """`theraloop --port <qemu> ARGS` in-process."""
        return CliRunner().invoke(main, ["--port", self.runner.cli_url, "--timeout", "5", *args])

    def cli_json(self, *args: str) -> Any:
        r = self.cli("--json", *args)
        assert r.exit_code == 0, (args, r.stdout, r.stderr)
        return json.loads(r.stdout)

    def model_sha(self) -> str:
        """The SHA-256 of the model the loop runs, as `theraloop status` reports it."""
        return str(self.cli_json("status")["model"]["sha256"])

    def listing(self) -> dict[str, Any]:
        with self.device() as dev:
            return model_list(dev)

    def config(self, *keys: str) -> dict[str, int | str]:
        with self.device() as dev:
            return client.config_get(dev, list(keys))

    def send_and_cut(self, body: bytes, delay_s: float) -> InfoReadResponse:
        """Send one SMP request without waiting for its answer, pull the power `delay_s`
        seconds later, boot again."""
        with self.device() as dev:
            for line in smppacket.encode(body, line_length=128):
                dev.write_raw(line)
            time.sleep(delay_s)
            self.runner.power_cut()
        return self.boot()


def model_request(command: ModelCommand, **fields: Any) -> bytes:
    """A model group (66) write request's bytes."""
    return bytes(request_class(MODEL_GROUP, command, write=True)(**fields).BYTES)


def slot_states(listing: dict[str, Any]) -> dict[int, str]:
    return {int(e["slot"]): str(e["state"]) for e in listing["slots"]}
