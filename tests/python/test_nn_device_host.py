"""The nn SMP group (65) through its Python client, against `theraloop-host --pty`.

The host port serves the same core code the device runs, so the protocol, the client's
chunking and resuming, the error mapping and `model verify --port` are checked here in
seconds; tests/system/test_qemu_nn.py repeats the essentials on the emulated Cortex-M4.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from click.testing import CliRunner
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from theraloop.cli import main
from theraloop.engine import Engine
from theraloop.errors import DeviceError, UsageError
from theraloop.mgmt import NN_GROUP_ID, NnErr, NnUploadWrite, error_name
from theraloop.model.device_engine import SHA_PREFIX, DeviceEngine, DeviceEngineError

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models/bench/mlp_16_32_16_3.tflite"
CONV1D = ROOT / "models/bench/conv1d_classifier.tflite"
TWO_IO = ROOT / "tests/models/int8/two_inputs_two_outputs.tflite"
FLOAT_IO = ROOT / "tests/models/int8/float_io.tflite"
FLOAT_MODEL = ROOT / "tests/models/unsupported/float_dense.tflite"


@pytest.fixture
def eng(host_device):
    with host_device.device(timeout=5.0) as dev:
        yield DeviceEngine(dev)


def _random_inputs(e: Engine, rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for t in e.inputs:
        if t.dtype == np.float32:
            out.append(rng.normal(0, 2, t.shape).astype(np.float32))
        else:
            out.append(rng.integers(-128, 128, t.shape).astype(t.dtype))
    return out


@pytest.mark.parametrize("path", [TWO_IO, FLOAT_IO, CONV1D], ids=lambda p: p.stem)
def test_device_matches_host_engine(eng, path):
    data = path.read_bytes()
    host = Engine(data)
    loaded = eng.load_model(data)
    assert loaded.arena_bytes == host.arena_bytes
    assert loaded.macs == host.macs
    assert loaded.sha256 == hashlib.sha256(data).digest()
    assert [t.shape for t in loaded.inputs] == [t.shape for t in host.inputs]
    rng = np.random.default_rng(3)
    for _ in range(10):
        x = _random_inputs(host, rng)
        for got, want in zip(eng.invoke(*x), host.invoke(*x), strict=True):
            assert got.dtype == want.dtype and np.array_equal(got, want)


def test_upload_resumes_where_the_device_is(eng):
    data = CONV1D.read_bytes()
    digest = hashlib.sha256(data).digest()
    first = eng.device.request(
        NnUploadWrite(off=0, data=data[:1000], len=len(data), sha=digest[:SHA_PREFIX])
    )
    assert first.off == 1000
    offsets: list[int] = []
    request = eng.device.request

    def spy(req, **kw):
        offsets.append(req.off)
        return request(req, **kw)

    eng.device.request = spy
    progress: list[int] = []
    try:
        assert eng.upload(data, progress=progress.append) == digest
    finally:
        eng.device.request = request
    # the device answered the client's first chunk with "1000": it went on from there
    assert offsets[:2] == [0, 1000]
    assert offsets == sorted(set(offsets))
    assert sum(progress) == len(data)  # the device has every byte
    assert eng.load().sha256 == digest


def test_state_reports_capacities_and_the_model(eng):
    eng.load_model(MLP.read_bytes())
    st = eng.state()
    assert st.slot_bytes >= 16 * 1024 and st.arena_bytes >= 8 * 1024
    assert st.dsp is False  # the host build runs the portable kernels
    assert st.model is not None and st.model.macs == Engine(MLP.read_bytes()).macs
    assert st.upload is None and st.last_error is None


def _edit(path: Path, change: Any) -> bytes:
    m = fb.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
    change(m)
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _transpose(m: Any) -> None:
    m.operatorCodes[0].builtinCode = fb.BuiltinOperator.TRANSPOSE
    m.operatorCodes[0].deprecatedBuiltinCode = fb.BuiltinOperator.TRANSPOSE


def test_engine_errors_are_named_and_keep_the_model(eng):
    eng.load_model(MLP.read_bytes())
    x = np.arange(16, dtype=np.int8).reshape(1, 16)
    want = eng.invoke(x)

    bad = bytearray(MLP.read_bytes())
    bad[4:8] = b"XXXX"
    with pytest.raises(DeviceEngineError) as e:
        eng.load_model(bytes(bad))
    assert e.value.status == "BAD_IDENTIFIER" and e.value.rc == NnErr.ENGINE_BAD_IDENTIFIER
    assert "TFL3" in str(e.value)

    with pytest.raises(DeviceEngineError) as e:
        eng.load_model(FLOAT_MODEL.read_bytes())
    assert e.value.status == "UNSUPPORTED_TYPE"
    assert (e.value.op_index, e.value.op_name) == (0, "FULLY_CONNECTED")

    with pytest.raises(DeviceEngineError) as e:
        eng.load_model(_edit(MLP, _transpose))
    assert e.value.status == "UNSUPPORTED_OP"
    assert (e.value.op_index, e.value.op_name) == (0, "TRANSPOSE")

    need = Engine(TWO_IO.read_bytes()).arena_bytes
    with pytest.raises(DeviceEngineError) as e:
        eng.load_model(TWO_IO.read_bytes(), arena=need - 1)
    assert e.value.status == "ARENA_TOO_SMALL" and e.value.arena_required == need

    # the MLP is still the loaded model, and still gives the same answer
    eng.model = None
    (got,) = eng.invoke(x)
    assert np.array_equal(got, want[0])


def test_too_large_and_bad_requests(eng):
    slot = eng.state().slot_bytes
    with pytest.raises(DeviceError) as e:
        eng.upload(bytes(slot + 1))
    assert (e.value.group, e.value.rc) == (NN_GROUP_ID, NnErr.TOO_LARGE)
    assert error_name(NN_GROUP_ID, e.value.rc, version=2) == "TOO_LARGE"
    eng.load_model(MLP.read_bytes())
    with pytest.raises(UsageError):
        eng.invoke(np.zeros((1, 16), np.int32))  # wrong type, caught before sending
    with pytest.raises(UsageError):
        eng.invoke(np.zeros((1, 16), np.int8), np.zeros((1, 16), np.int8))


def test_bench_on_the_host_port(eng):
    loop = eng.bench(5, loop=1000)
    assert loop.target == "loop" and loop.n == 5 and loop.timer == "timespec_get"
    assert loop.loop_insns is None  # exact counts only on the Cortex-M
    eng.load_model(MLP.read_bytes())
    r = eng.bench(20, inputs=[np.ones((1, 16), np.int8)])
    assert r.target == "model" and r.n == 20 and r.macs == Engine(MLP.read_bytes()).macs
    assert 0 < r.min <= r.max and r.ticks >= 20 * r.min


def test_model_verify_port_json(host_device):
    args = ["--port", host_device.port, "--timeout", "5", "model", "verify", str(TWO_IO)]
    result = CliRunner().invoke(main, [*args, "--cases", "25", "--json"])
    assert result.exit_code == 0, result.stderr
    r = json.loads(result.stdout)
    assert r["bit_exact"] is True and r["cases"] == 29 and r["max_abs_diff"] == 0
    dev = r["targets"]["device"]
    assert dev["bit_exact"] is True and dev["port"] == host_device.port
    assert dev["arena_matches_host"] is True
    assert r["targets"]["engine"]["bit_exact"] is True


def test_model_verify_port_text_and_refusal(host_device, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        main, ["model", "verify", str(FLOAT_IO), "--cases", "5", "--port", host_device.port]
    )
    assert result.exit_code == 0, result.stderr
    assert "tflite-micro, host engine and device" in result.stdout
    assert "all agree" in result.stdout
    big = tmp_path / "big.tflite"
    big.write_bytes(MLP.read_bytes() + bytes(64 * 1024))  # valid, padded past a slot
    result = runner.invoke(main, ["model", "verify", str(big), "--port", host_device.port])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert "do not fit in the device's" in line
