"""Python binding of the on-device inference engine (host build, ctypes).

The same C engine that runs on the Cortex-M4 (``firmware/core/src/nn``) is built for the
PC as ``libtheraloop_nn.so`` (``make host``). This module loads it from the host build
tree -- ``$THERALOOP_HOST_BUILD`` (default ``<repo>/build/host``) +
``firmware/boards/host/libtheraloop_nn.so`` -- and wraps it::

    eng = Engine(Path("model.tflite").read_bytes())      # exact arena
    print(eng.arena_bytes, eng.macs, eng.op_names)
    (probs,) = eng.invoke(np.zeros(eng.inputs[0].shape, np.int8))

Errors from the engine raise :class:`EngineError` with the engine's status code and name
(``UNSUPPORTED_OP``, ``ARENA_TOO_SMALL``, ...) and, for load errors, the failing operator.
A missing library raises :class:`EngineLibraryMissing` (an ``OSError``) on first use.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_DIMS = 6
LIBRARY_NAME = "libtheraloop_nn.so"

# tl_nn_status_t
OK = 0
ERR_ARG = 1
ERR_ARENA_TOO_SMALL = 16
ERR_CONTRACT_MISMATCH = 18

# tl_nn_type_t -> numpy
_TYPES: dict[int, Any] = {0: np.dtype(np.int8), 1: np.dtype(np.int32), 2: np.dtype(np.float32)}

# TFLite BuiltinOperator codes 0..209 (schema.fbs), for names in messages.
_BUILTIN_NAMES_TEXT = (
    "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE "
    "DEQUANTIZE EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION "
    "L2_POOL_2D LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D "
    "MUL RELU RELU_N1_TO_1 RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF "
    "TANH CONCAT_EMBEDDINGS SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD "
    "UNIDIRECTIONAL_SEQUENCE_RNN GATHER BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE "
    "MEAN SUB DIV SQUEEZE UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE "
    "BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT LOG_SOFTMAX DELEGATE "
    "BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG PADV2 "
    "GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE "
    "TILE EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT "
    "REDUCE_PROD REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK "
    "REDUCE_MIN FLOOR_DIV REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE "
    "RESIZE_NEAREST_NEIGHBOR LEAKY_RELU SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE "
    "CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE RANK ELU REVERSE_SEQUENCE MATRIX_DIAG "
    "QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE NON_MAX_SUPPRESSION_V4 "
    "NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM BATCH_MATMUL "
    "PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D IMAG "
    "REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE "
    "REDUCE_ALL CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE "
    "BROADCAST_ARGS RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU "
    "DYNAMIC_UPDATE_SLICE RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX "
    "UNSORTED_SEGMENT_SUM ATAN2 UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR "
    "RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD STABLEHLO_DIVIDE STABLEHLO_MULTIPLY "
    "STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP STABLEHLO_CONCATENATE "
    "STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE "
    "STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE "
    "STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM "
    "STABLEHLO_NEGATE STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT "
    "STABLEHLO_SELECT STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER "
    "STABLEHLO_COMPARE STABLEHLO_CONVERT STABLEHLO_DYNAMIC_SLICE "
    "STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA STABLEHLO_DOT_GENERAL "
    "STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER "
    "STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW "
    "STABLEHLO_COMPOSITE STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE "
)
_BUILTIN_NAMES = tuple(_BUILTIN_NAMES_TEXT.split())


def builtin_name(code: int) -> str:
    """Name of a TFLite builtin operator code ("CONV_2D"), or "BUILTIN_<n>"."""
    if 0 <= code < len(_BUILTIN_NAMES):
        return _BUILTIN_NAMES[code]
    return f"BUILTIN_{code}"


class EngineLibraryMissing(OSError):
    """``libtheraloop_nn.so`` is not built (run ``make host``) or cannot be loaded."""


class EngineError(Exception):
    """An engine call failed.

    ``code`` is the engine status (``tl_nn_status_t``), ``name`` its stable name
    ("UNSUPPORTED_OP"), ``op_index``/``op_name`` the operator that failed to load (or
    ``None``), ``arena_required`` the bytes needed when the arena was too small.
    """

    def __init__(
        self,
        code: int,
        name: str,
        message: str,
        op_index: int | None = None,
        op_name: str | None = None,
        arena_required: int | None = None,
    ) -> None:
        self.code = code
        self.name = name
        self.message = message
        self.op_index = op_index
        self.op_name = op_name
        self.arena_required = arena_required
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.name}: {self.message}"
        if self.op_index is not None:
            text = f"operator {self.op_index} ({self.op_name}): {text}"
        if self.arena_required:
            text += f" (needs {self.arena_required} bytes)"
        return text


@dataclass(frozen=True)
class TensorInfo:
    """A model input or output as the engine sees it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    scale: float
    zero_point: int


class _Model(ctypes.Structure):
    """Mirror of ``tl_nn_model_t`` (checked against the library's sizeof)."""

    _fields_ = (
        ("model", ctypes.c_void_p),
        ("arena", ctypes.c_void_p),
        ("model_len", ctypes.c_uint32),
        ("arena_len", ctypes.c_uint32),
        ("arena_required", ctypes.c_uint32),
        ("err_op", ctypes.c_int32),
        ("err_opcode", ctypes.c_int32),
        ("macs", ctypes.c_uint64),
        ("tensors_vec", ctypes.c_uint32),
        ("inputs_vec", ctypes.c_uint32),
        ("outputs_vec", ctypes.c_uint32),
        ("ops_vec", ctypes.c_uint32),
        ("opcodes_vec", ctypes.c_uint32),
        ("refs_off", ctypes.c_uint32),
        ("exec_off", ctypes.c_uint32),
        ("n_tensors", ctypes.c_uint16),
        ("n_ops", ctypes.c_uint16),
        ("n_exec", ctypes.c_uint16),
        ("n_inputs", ctypes.c_uint16),
        ("n_outputs", ctypes.c_uint16),
        ("n_opcodes", ctypes.c_uint16),
        ("loaded", ctypes.c_bool),
    )


class _Tensor(ctypes.Structure):
    """Mirror of ``tl_nn_tensor_t``."""

    _fields_ = (
        ("data", ctypes.c_void_p),
        ("bytes", ctypes.c_size_t),
        ("type", ctypes.c_int),
        ("ndim", ctypes.c_uint8),
        ("dims", ctypes.c_int32 * MAX_DIMS),
        ("scale", ctypes.c_float),
        ("zero_point", ctypes.c_int32),
        ("name", ctypes.c_void_p),
        ("name_len", ctypes.c_size_t),
        ("tensor_index", ctypes.c_uint32),
    )


def library_path() -> Path:
    """Where the host build puts ``libtheraloop_nn.so``."""
    default = Path(__file__).resolve().parents[2] / "build" / "host"
    root = Path(os.environ.get("THERALOOP_HOST_BUILD", str(default)))
    return root / "firmware" / "boards" / "host" / LIBRARY_NAME


_lib: ctypes.CDLL | None = None


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    path = library_path()
    if not path.is_file():
        raise EngineLibraryMissing(
            f"{path} not found: build the engine's host library with `make host` "
            "(or point THERALOOP_HOST_BUILD at a host build tree)"
        )
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as e:
        raise EngineLibraryMissing(f"cannot load {path}: {e}") from e
    u8p = ctypes.POINTER(ctypes.c_uint8)
    lib.tl_nn_load.argtypes = [ctypes.POINTER(_Model), u8p, ctypes.c_size_t, u8p, ctypes.c_size_t]
    lib.tl_nn_load.restype = ctypes.c_int
    lib.tl_nn_arena_required.argtypes = [
        u8p,
        ctypes.c_size_t,
        u8p,
        ctypes.c_size_t,
        ctypes.POINTER(ctypes.c_size_t),
    ]
    lib.tl_nn_arena_required.restype = ctypes.c_int
    lib.tl_nn_invoke.argtypes = [ctypes.POINTER(_Model)]
    lib.tl_nn_invoke.restype = ctypes.c_int
    for fn in (lib.tl_nn_input, lib.tl_nn_output):
        fn.argtypes = [ctypes.POINTER(_Model), ctypes.c_size_t, ctypes.POINTER(_Tensor)]
        fn.restype = ctypes.c_int
    for fn in (lib.tl_nn_input_count, lib.tl_nn_output_count, lib.tl_nn_op_count):
        fn.argtypes = [ctypes.POINTER(_Model)]
        fn.restype = ctypes.c_size_t
    lib.tl_nn_op_code.argtypes = [ctypes.POINTER(_Model), ctypes.c_size_t]
    lib.tl_nn_op_code.restype = ctypes.c_int32
    lib.tl_nn_status_name.argtypes = [ctypes.c_int]
    lib.tl_nn_status_name.restype = ctypes.c_char_p
    lib.tl_nn_strerror.argtypes = [ctypes.c_int]
    lib.tl_nn_strerror.restype = ctypes.c_char_p
    lib.tl_nn_uses_dsp.argtypes = []
    lib.tl_nn_uses_dsp.restype = ctypes.c_bool
    lib.tl_nn_abi_sizes.argtypes = [ctypes.POINTER(ctypes.c_size_t)] * 2
    lib.tl_nn_abi_sizes.restype = None
    model_size, tensor_size = ctypes.c_size_t(), ctypes.c_size_t()
    lib.tl_nn_abi_sizes(ctypes.byref(model_size), ctypes.byref(tensor_size))
    if (model_size.value, tensor_size.value) != (ctypes.sizeof(_Model), ctypes.sizeof(_Tensor)):
        raise EngineLibraryMissing(
            f"{path} does not match this binding (struct sizes "
            f"{model_size.value}/{tensor_size.value}, expected "
            f"{ctypes.sizeof(_Model)}/{ctypes.sizeof(_Tensor)}): rebuild with `make host`"
        )
    _lib = lib
    return lib


def status_name(code: int) -> str:
    """Stable name of an engine status code ("ARENA_TOO_SMALL")."""
    return _library().tl_nn_status_name(code).decode()


def uses_dsp() -> bool:
    """Whether the loaded library was built with the Cortex-M DSP kernels (never on a PC)."""
    return bool(_library().tl_nn_uses_dsp())


def _error(code: int, m: _Model | None = None, message: str | None = None) -> EngineError:
    lib = _library()
    name = lib.tl_nn_status_name(code).decode()
    text = message or lib.tl_nn_strerror(code).decode()
    op_index = op_name = None
    arena = None
    if m is not None:
        if m.err_op >= 0:
            op_index = int(m.err_op)
            op_name = builtin_name(int(m.err_opcode)) if m.err_opcode >= 0 else "?"
        if code == ERR_ARENA_TOO_SMALL and m.arena_required:
            arena = int(m.arena_required)
    return EngineError(code, name, text, op_index, op_name, arena)


def _u8p(buf: Any) -> Any:
    return ctypes.cast(buf, ctypes.POINTER(ctypes.c_uint8))


class Engine:
    """A model loaded into the engine's host build, with its own arena.

    ``arena_size=None`` uses exactly :meth:`arena_required` bytes. Inputs are written and
    outputs read through copies, so results never alias the arena.
    """

    def __init__(self, model: bytes, arena_size: int | None = None) -> None:
        lib = _library()
        data = bytes(model)
        self._model_buf = (ctypes.c_uint8 * max(len(data), 1)).from_buffer_copy(
            data if data else b"\0"
        )
        if arena_size is None:
            arena_size = Engine.arena_required(data)
        if arena_size < 0:
            raise ValueError("arena_size must be >= 0")
        self._arena = (ctypes.c_uint8 * max(arena_size, 1))()
        self._m = _Model()
        st = lib.tl_nn_load(
            ctypes.byref(self._m), _u8p(self._model_buf), len(data), _u8p(self._arena), arena_size
        )
        if st != OK:
            raise _error(st, self._m)
        self.arena_bytes: int = int(self._m.arena_required)
        self.macs: int = int(self._m.macs)
        self.inputs: list[TensorInfo] = [
            self._info(self._view(False, i)) for i in range(lib.tl_nn_input_count(self._m))
        ]
        self.outputs: list[TensorInfo] = [
            self._info(self._view(True, i)) for i in range(lib.tl_nn_output_count(self._m))
        ]
        self.op_names: list[str] = [
            builtin_name(int(lib.tl_nn_op_code(self._m, i)))
            for i in range(lib.tl_nn_op_count(self._m))
        ]

    @staticmethod
    def arena_required(model: bytes) -> int:
        """Exact arena bytes the engine needs for ``model`` (raises EngineError if invalid)."""
        lib = _library()
        data = bytes(model)
        buf = (ctypes.c_uint8 * max(len(data), 1)).from_buffer_copy(data if data else b"\0")
        work_len = max(64 * 1024, 8 * len(data))
        while True:
            work = (ctypes.c_uint8 * work_len)()
            out = ctypes.c_size_t()
            st = lib.tl_nn_arena_required(_u8p(buf), len(data), _u8p(work), work_len, out)
            if st == OK:
                return int(out.value)
            if st == ERR_ARENA_TOO_SMALL and work_len < (1 << 30):
                work_len *= 4
                continue
            m = _Model()
            lib.tl_nn_load(ctypes.byref(m), _u8p(buf), len(data), _u8p(work), work_len)
            raise _error(st, m)

    def _view(self, output: bool, index: int) -> _Tensor:
        t = _Tensor()
        fn = _library().tl_nn_output if output else _library().tl_nn_input
        st = fn(ctypes.byref(self._m), index, ctypes.byref(t))
        if st != OK:
            raise _error(st)
        return t

    @staticmethod
    def _info(t: _Tensor) -> TensorInfo:
        name = ctypes.string_at(t.name, t.name_len).decode("utf-8", "replace") if t.name else ""
        return TensorInfo(
            name=name,
            shape=tuple(int(t.dims[i]) for i in range(t.ndim)),
            dtype=_TYPES[int(t.type)],
            scale=float(t.scale),
            zero_point=int(t.zero_point),
        )

    def invoke(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Run one inference; returns copies of all outputs."""
        lib = _library()
        if len(inputs) != len(self.inputs):
            raise _error(
                ERR_CONTRACT_MISMATCH,
                message=f"model has {len(self.inputs)} input(s), got {len(inputs)}",
            )
        for i, (x, info) in enumerate(zip(inputs, self.inputs, strict=True)):
            arr = np.asarray(x)
            if info.dtype == np.float32 and arr.dtype.kind == "f":
                arr = arr.astype(np.float32)
            if arr.dtype != info.dtype:
                raise _error(
                    ERR_CONTRACT_MISMATCH,
                    message=f"input {i} ({info.name}) is {info.dtype}, got {arr.dtype}",
                )
            if arr.shape != info.shape and (
                arr.size != int(np.prod(info.shape))
                or tuple(d for d in arr.shape if d != 1) != tuple(d for d in info.shape if d != 1)
            ):
                raise _error(
                    ERR_CONTRACT_MISMATCH,
                    message=f"input {i} ({info.name}) has shape {info.shape}, got {arr.shape}",
                )
            arr = np.ascontiguousarray(arr)
            view = self._view(False, i)
            ctypes.memmove(view.data, arr.ctypes.data, arr.nbytes)
        st = lib.tl_nn_invoke(ctypes.byref(self._m))
        if st != OK:
            raise _error(st)
        results = []
        for i, info in enumerate(self.outputs):
            view = self._view(True, i)
            raw = ctypes.string_at(view.data, view.bytes)
            results.append(np.frombuffer(raw, dtype=info.dtype).reshape(info.shape).copy())
        return results
