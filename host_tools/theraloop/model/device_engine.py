"""The inference engine on a device, over SMP (the nn group, 65).

    with Device("socket://127.0.0.1:4321") as dev:
        eng = DeviceEngine(dev)
        info = eng.load_model(Path("model.tflite").read_bytes())
        (probs,) = eng.invoke(np.zeros(info.inputs[0].shape, np.int8))

The same calls as :class:`theraloop.engine.Engine` (the host build), so a test or a tool
can run one case set through both. Uploads go in chunks sized to the device's SMP
buffer and resume from the offset the device reports; a model the device's engine
refuses raises :class:`DeviceEngineError` with the engine's status name, the failing
operator and, for a too-small arena, the bytes it needs (read back from `state`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from theraloop.device import Device
from theraloop.errors import DeviceError, DeviceProtocolError, UsageError
from theraloop.mgmt import (
    ENGINE_STATUS_NAMES,
    NN_ERR_ENGINE,
    NN_GROUP_ID,
    NnBenchWrite,
    NnBenchWriteResponse,
    NnInvokeWrite,
    NnIo,
    NnLastError,
    NnLoadWrite,
    NnModelFields,
    NnStateRead,
    NnStateReadResponse,
    NnUploadWrite,
)
from theraloop.model.tflite_file import BUILTIN_OP_NAMES

DTYPES: Final[dict[str, np.dtype[Any]]] = {
    "int8": np.dtype("<i1"),
    "int32": np.dtype("<i4"),
    "float32": np.dtype("<f4"),
}
"""Element types of the device's tensors (little-endian on the wire)."""

SHA_PREFIX: Final = 16
"""Bytes of the file's SHA-256 sent with an upload (checked by the device at the end)."""

_DEFAULT_BUF_SIZE: Final = 512
"""SMP buffer assumed when the device does not report MCUmgr parameters."""

_SMP_FRAME_OVERHEAD: Final = 4
"""Serial frame bytes (length, CRC) inside the device's `buf_size`."""

_BSTR_HEAD: Final = 3
"""CBOR head of a byte string of up to 65535 bytes."""


class DeviceEngineError(DeviceError):
    """The device's engine refused a model or failed to run it.

    `status` is the engine's status name ("UNSUPPORTED_OP", "ARENA_TOO_SMALL", ...),
    `op_index`/`op_name` the failing operator (or None), `arena_required` the arena the
    model needs when the arena was too small (or None), `message` the engine's text.
    """

    def __init__(self, err: DeviceError, detail: NnLastError | None) -> None:
        status_code = err.rc - NN_ERR_ENGINE
        self.status_code = status_code
        self.status = (
            ENGINE_STATUS_NAMES[status_code]
            if 0 <= status_code < len(ENGINE_STATUS_NAMES)
            else f"STATUS_{status_code}"
        )
        same = detail is not None and detail.rc == err.rc
        self.message = detail.message if same and detail is not None else ""
        self.op_index = detail.op if same and detail is not None and detail.op >= 0 else None
        self.op_name = detail.op_name if same and detail is not None else None
        if same and detail is not None and detail.opcode is not None:
            # The device names only the operators it implements ("UNKNOWN" otherwise).
            self.op_name = BUILTIN_OP_NAMES.get(detail.opcode, self.op_name)
        self.arena_required = detail.arena_required if same and detail is not None else None
        text = f"{self.status}: {self.message}" if self.message else self.status
        if self.op_index is not None:
            text = f"operator {self.op_index} ({self.op_name or '?'}): {text}"
        if self.arena_required:
            text += f" (needs {self.arena_required} bytes of arena)"
        super().__init__(err.group, err.rc, err.name, version=err.version, reason=text)
        self.args = (f"the device's engine: {text}",)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class DeviceTensor:
    """A model input or output on the device."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    scale: float
    zero_point: int
    nbytes: int

    @classmethod
    def from_io(cls, io: NnIo) -> DeviceTensor:
        dtype = DTYPES.get(io.type)
        if dtype is None:
            raise DeviceProtocolError(f"device reports tensor type {io.type!r}")
        return cls(io.name, tuple(io.shape), dtype, io.scale, io.zero_point, io.nbytes)


@dataclass(frozen=True)
class DeviceModel:
    """The model loaded on the device, as its engine describes it."""

    size: int
    sha256: bytes
    arena_bytes: int
    arena_limit: int
    macs: int
    ops: int
    inputs: tuple[DeviceTensor, ...]
    outputs: tuple[DeviceTensor, ...]

    @classmethod
    def from_response(cls, r: NnModelFields) -> DeviceModel:
        if len(r.inputs) != r.n_inputs or len(r.outputs) != r.n_outputs:
            raise UsageError(
                f"the model has {r.n_inputs} inputs and {r.n_outputs} outputs; the device's "
                f"management interface handles at most {len(r.inputs)} of each"
            )
        return cls(
            size=r.nbytes,
            sha256=r.sha256,
            arena_bytes=r.arena_bytes,
            arena_limit=r.arena_limit,
            macs=r.macs,
            ops=r.ops,
            inputs=tuple(DeviceTensor.from_io(io) for io in r.inputs),
            outputs=tuple(DeviceTensor.from_io(io) for io in r.outputs),
        )


class DeviceEngine:
    """The nn group of one opened :class:`Device`."""

    def __init__(self, device: Device) -> None:
        self.device = device
        self.model: DeviceModel | None = None

    # --- requests ------------------------------------------------------------------

    def _request(self, req: Any, *, timeout: float | None = None) -> Any:
        try:
            return self.device.request(req, timeout=timeout)
        except DeviceError as e:
            if e.group == NN_GROUP_ID and e.version == 2 and e.rc > NN_ERR_ENGINE:
                raise DeviceEngineError(e, self.state().last_error) from e
            raise

    def state(self) -> NnStateReadResponse:
        """Capacities, kernel path, loaded model, upload in progress, last engine error."""
        return self.device.request(NnStateRead())

    @property
    def max_request(self) -> int:
        """Largest SMP packet the device accepts (its `buf_size` minus the frame)."""
        params = self.device.params
        buf = params.buf_size if params is not None else _DEFAULT_BUF_SIZE
        return int(buf) - _SMP_FRAME_OVERHEAD

    def upload(self, data: bytes, *, progress: Callable[[int], None] | None = None) -> bytes:
        """Send a model file to the device's free slot; returns its SHA-256.

        Chunks fill the device's SMP buffer. When the device answers with another
        offset than the next one (a lost answer, a device that restarted), the upload
        goes on from there. `progress(n)` is called with the bytes each chunk added.
        """
        if not data:
            raise UsageError("the model file is empty")
        digest = hashlib.sha256(data).digest()
        first = NnUploadWrite(off=0, data=b"", len=len(data), sha=digest[:SHA_PREFIX])
        room = self.max_request - len(first.BYTES) - _BSTR_HEAD
        if room < 16:
            raise UsageError(f"the device's SMP buffer ({self.max_request} B) is too small")
        off = 0
        budget = 4 * (len(data) // room + 1) + 8  # resends allowed before giving up
        while True:
            chunk = data[off : off + room]
            if off == 0:
                req = NnUploadWrite(off=0, data=chunk, len=len(data), sha=digest[:SHA_PREFIX])
            else:
                req = NnUploadWrite(off=off, data=chunk)
            rsp = self._request(req)
            nxt = int(rsp.off)
            if nxt > len(data) or nxt < 0:
                raise DeviceProtocolError(
                    f"device asks for offset {nxt} of a {len(data)}-byte file"
                )
            if progress is not None and nxt > off:
                progress(nxt - off)
            if nxt == len(data):
                if rsp.sha256 is not None and rsp.sha256 != digest:
                    raise DeviceProtocolError("the device computed another SHA-256 of the upload")
                return digest
            if nxt != off + len(chunk):
                budget -= 1
                if budget <= 0:
                    raise DeviceProtocolError(
                        f"upload makes no progress (device wants offset {nxt})"
                    )
            off = nxt

    def load(self, *, arena: int | None = None) -> DeviceModel:
        """Load the uploaded model (with at most `arena` bytes of the device's arena)."""
        rsp = self._request(NnLoadWrite(arena=arena))
        self.model = DeviceModel.from_response(rsp)
        return self.model

    def load_model(
        self,
        data: bytes,
        *,
        arena: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> DeviceModel:
        """Upload and load `data` (a .tflite file)."""
        self.upload(data, progress=progress)
        return self.load(arena=arena)

    def _require_model(self) -> DeviceModel:
        if self.model is None:
            st = self.state()
            if st.model is None:
                raise UsageError("no model is loaded on the device")
            self.model = DeviceModel.from_response(st.model)
        return self.model

    def encode_inputs(self, inputs: Sequence[np.ndarray]) -> list[bytes]:
        """The request bytes of one case, checked against the model's inputs."""
        model = self._require_model()
        if len(inputs) != len(model.inputs):
            raise UsageError(f"the model has {len(model.inputs)} inputs, got {len(inputs)}")
        out = []
        for k, (x, t) in enumerate(zip(inputs, model.inputs, strict=True)):
            arr = np.asarray(x)
            if arr.size != int(np.prod(t.shape)) or (
                arr.dtype != t.dtype and not (arr.dtype.kind == t.dtype.kind == "f")
            ):
                raise UsageError(
                    f"input {k} ({t.name}) needs {t.dtype.name}{list(t.shape)}, "
                    f"got {arr.dtype.name}{list(arr.shape)}"
                )
            out.append(np.ascontiguousarray(arr, dtype=t.dtype).tobytes())
        return out

    def invoke(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Run one inference on the device; returns its outputs (shaped, typed)."""
        model = self._require_model()
        req = NnInvokeWrite(inputs=self.encode_inputs(inputs))
        if len(req.BYTES) > self.max_request:
            raise UsageError(
                f"the inputs ({sum(t.nbytes for t in model.inputs)} bytes) do not fit in "
                f"the device's {self.max_request}-byte SMP buffer"
            )
        rsp = self._request(req)
        if len(rsp.outputs) != len(model.outputs):
            raise DeviceProtocolError(
                f"device returned {len(rsp.outputs)} outputs, the model has {len(model.outputs)}"
            )
        results = []
        for raw, t in zip(rsp.outputs, model.outputs, strict=True):
            if len(raw) != t.nbytes:
                raise DeviceProtocolError(f"output {t.name}: {len(raw)} bytes, expected {t.nbytes}")
            results.append(np.frombuffer(raw, dtype=t.dtype).reshape(t.shape).copy())
        return results

    def bench(
        self,
        n: int,
        *,
        loop: int | None = None,
        inputs: Sequence[np.ndarray] | None = None,
        timeout: float | None = None,
    ) -> NnBenchWriteResponse:
        """Time `n` runs of the loaded model (inputs restored before every run), or with
        `loop` the calibration loop of that many iterations."""
        encoded = None
        if loop is None and inputs is not None:
            encoded = self.encode_inputs(inputs)
        return self._request(NnBenchWrite(n=n, loop=loop, inputs=encoded), timeout=timeout)
