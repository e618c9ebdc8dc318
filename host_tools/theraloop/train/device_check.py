"""The shipped model on the emulated device vs the host build of the engine, on real inputs.

Boots the firmware in QEMU (``netduinoplus2``, the image ``theraloop sim`` runs), uploads
the ``.tflite`` over SMP (the nn group, :class:`theraloop.model.device_engine.DeviceEngine`)
and runs real inputs of the recipe (EEG windows, feature vectors) through it; every
output must equal the host engine's, element for element. Training runs this when the
firmware image and QEMU are there (``--bench``); the card shows the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from theraloop.engine import Engine
from theraloop.errors import TheraloopError

BOOT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DeviceCheck:
    cases: int
    identical: bool | None
    """None when the device could not be run (see ``note``)."""
    mismatched_cases: int
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "identical": self.identical,
            "mismatched_cases": self.mismatched_cases,
            "note": self.note,
        }


def compare_on_emulator(model: bytes, inputs: np.ndarray, elf: Path) -> DeviceCheck:
    """Run ``inputs`` ((N, *input shape) int8) on the emulated device and on the host."""
    from theraloop.device import Device
    from theraloop.model.device_engine import DeviceEngine
    from theraloop.sim.qemu import QemuRunner

    host = Engine(model)
    shape = host.inputs[0].shape
    expected = [host.invoke(x.reshape(shape))[0] for x in inputs]
    try:
        with QemuRunner(elf) as runner:
            dev = Device(runner.cli_url, timeout=5.0)
            try:
                dev.wait_ready(BOOT_TIMEOUT_S)
                dev.open()  # reads the device's SMP buffer size for the upload
                eng = DeviceEngine(dev)
                eng.load_model(model)
                got = [eng.invoke(x.reshape(shape))[0] for x in inputs]
            finally:
                dev.close()
    except (TheraloopError, OSError, RuntimeError) as e:
        return DeviceCheck(0, None, 0, f"the emulated device could not run the model: {e}")
    bad = sum(
        1
        for a, b in zip(expected, got, strict=True)
        if not np.array_equal(a.reshape(-1), b.reshape(-1))
    )
    return DeviceCheck(
        len(got),
        bad == 0,
        bad,
        f"QEMU netduinoplus2, firmware {elf.name}, model uploaded over SMP",
    )
