"""The shipped reference models on the emulated device: uploaded over SMP to the firmware
in QEMU, run on real inputs, every output identical to the host build of the engine."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from theraloop.engine import Engine
from theraloop.model.device_engine import DeviceEngine
from theraloop.paths import repo_root
from theraloop.train import biomarker, seizure

pytestmark = pytest.mark.qemu

MODELS = repo_root() / "models"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    d = repo_root().parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip(f"real recordings not available: {d} is missing (see its README in CI)")
    return d


@pytest.mark.parametrize(
    ("name", "samples"),
    [("seizure_detector", seizure.device_samples), ("beta_biomarker", biomarker.device_samples)],
)
def test_shipped_model_on_the_emulated_device(qemu_device, data_dir, name, samples):
    folder = MODELS / name
    blob = (folder / f"{name}.tflite").read_bytes()
    contract = json.loads((folder / "contract.json").read_text())
    inputs = samples(contract, data_dir, count=24)
    host = Engine(blob)
    shape = host.inputs[0].shape
    with qemu_device.device(timeout=5.0) as dev:
        eng = DeviceEngine(dev)
        model = eng.load_model(blob)
        assert tuple(model.inputs[0].shape) == shape
        assert model.arena_bytes == host.arena_bytes  # the planner is the same code
        for x in inputs:
            (want,) = host.invoke(x.reshape(shape))
            (got,) = eng.invoke(x.reshape(shape))
            assert np.array_equal(got.reshape(-1), want.reshape(-1))
