"""ctypes declarations of the therapy core in the SIL library (libtheraloop_sil.so).

Struct mirrors are checked against the C sizes (tl_therapy_sizeof) on first load, so a
layout change in the C headers fails loudly here instead of corrupting memory.
"""

from __future__ import annotations

import ctypes
from functools import cache

from theraloop import sil

c_u8 = ctypes.c_uint8
c_u16 = ctypes.c_uint16
c_u32 = ctypes.c_uint32
c_i32 = ctypes.c_int32
c_i64 = ctypes.c_int64
c_size = ctypes.c_size_t
c_bool = ctypes.c_bool
c_char_p = ctypes.c_char_p
c_void_p = ctypes.c_void_p

WHY_MAX = 128
MODEL_HASH_LEN = 8
TELEMETRY_FEATURES = 4


class StimParams(ctypes.Structure):
    _fields_ = [
        ("amplitude_ua", c_u16),
        ("pulse_width_us", c_u16),
        ("rate_dhz", c_u16),
        ("interphase_gap_us", c_u16),
        ("enabled", c_u8),
        ("waveform", c_u8),
        ("reserved", c_u8 * 2),
    ]


class Check(ctypes.Structure):
    _fields_ = [
        ("err", ctypes.c_int),
        ("field", c_i32),
        ("why", ctypes.c_char * WHY_MAX),
        ("worst_charge_pc", c_u32),
        ("worst_density_cuc", c_u32),
        ("worst_shannon_k_milli", c_i32),
    ]


class Field(ctypes.Structure):
    _fields_ = [
        ("name", c_char_p),
        ("offset", c_u16),
        ("type", c_u8),
        ("group", c_u8),
        ("min", c_i64),
        ("max", c_i64),
        ("default", c_i64),
        ("unit", c_char_p),
        ("choices", c_char_p),
        ("help", c_char_p),
    ]


class RingRead(ctypes.Structure):
    _fields_ = [
        ("count", c_u32),
        ("lost", c_u32),
        ("next_seq", c_u32),
        ("future", c_u8),
        ("reserved", c_u8 * 3),
    ]


class Event(ctypes.Structure):
    _fields_ = [
        ("seq", c_u32),
        ("time_ms", c_u32),
        ("type", c_u8),
        ("reason", c_u8),
        ("therapy_state", c_u8),
        ("policy_state", c_u8),
        ("detail", c_u32),
        ("aux", c_u32),
        ("before", StimParams),
        ("after", StimParams),
        ("model_hash", c_u8 * MODEL_HASH_LEN),
    ]


class TelemetryRecord(ctypes.Structure):
    _fields_ = [
        ("seq", c_u32),
        ("time_ms", c_u32),
        ("step", c_u32),
        ("features", c_i32 * TELEMETRY_FEATURES),
        ("score", c_i32),
        ("faults", c_u32),
        ("amplitude_ua", c_u16),
        ("target_ua", c_u16),
        ("pulse_width_us", c_u16),
        ("rate_dhz", c_u16),
        ("model_class", c_u8),
        ("policy_state", c_u8),
        ("therapy_state", c_u8),
        ("mode", c_u8),
        ("score_valid", c_u8),
        ("enabled", c_u8),
        ("n_features", c_u8),
        ("reason", c_u8),
    ]


class SupervisorOutput(ctypes.Structure):
    _fields_ = [
        ("stim", StimParams),
        ("detail", c_u32),
        ("clamps", c_u32),
        ("faults", c_u32),
        ("target_ua", c_u16),
        ("therapy_state", c_u8),
        ("mode", c_u8),
        ("reason", c_u8),
        ("changed", c_u8),
        ("reserved", c_u8 * 2),
    ]


class TherapyInput(ctypes.Structure):
    _fields_ = [
        ("now_ms", c_u32),
        ("score", c_i32),
        ("score_valid", c_u8),
        ("model_class", c_u8),
        ("n_features", c_u8),
        ("reserved", c_u8),
        ("features", c_i32 * TELEMETRY_FEATURES),
        ("faults", c_u32),
    ]


class BatchIn(ctypes.Structure):
    _fields_ = [
        ("now_ms", c_u32),
        ("score", c_i32),
        ("faults", c_u32),
        ("score_valid", c_u8),
        ("command", c_u8),
        ("reserved", c_u8 * 2),
    ]


class BatchOut(ctypes.Structure):
    _fields_ = [
        ("amplitude_ua", c_u16),
        ("pulse_width_us", c_u16),
        ("rate_dhz", c_u16),
        ("target_ua", c_u16),
        ("enabled", c_u8),
        ("therapy_state", c_u8),
        ("mode", c_u8),
        ("reason", c_u8),
        ("policy_state", c_u8),
        ("policy_event", c_u8),
        ("command_result", c_u8),
        ("reserved", c_u8),
        ("clamps", c_u32),
    ]


class StimFrame(ctypes.Structure):
    _fields_ = [
        ("type", c_u8),
        ("version", c_u8),
        ("len", c_u8),
        ("payload", c_u8 * 32),
    ]


class StimStatusFrame(ctypes.Structure):
    _fields_ = [
        ("ack_seq", c_u16),
        ("status", c_u8),
        ("output_active", c_u8),
        ("delivered_ua", c_u16),
        ("impedance_ohm", c_u16),
    ]


class StimCommandC(ctypes.Structure):
    _fields_ = [("seq", c_u16), ("stim", StimParams)]


class StimParser(ctypes.Structure):
    """tl_stim_parser_t"""

    _fields_ = [
        ("buf", c_u8 * 39),
        ("len", c_u32),
        ("frames", c_u32),
        ("bad_crc", c_u32),
        ("bad_header", c_u32),
        ("discarded", c_u32),
    ]


# tl_therapy_sizeof selectors and the mirrors they must match
SIZEOF_THERAPY = 0
SIZEOF_CONFIG = 1
SIZEOF_EVENT_LOG = 4
SIZEOF_TELEMETRY = 5
_MIRRORS: dict[int, type[ctypes.Structure]] = {
    9: StimParser,
    2: Event,
    3: TelemetryRecord,
    6: Check,
    7: SupervisorOutput,
    11: BatchIn,
    12: BatchOut,
    13: StimParams,
    14: Field,
    15: StimFrame,
    16: StimStatusFrame,
}

_P = ctypes.POINTER


def _declare(lib: ctypes.CDLL) -> None:
    sigs: dict[str, tuple[list[object], object]] = {
        "tl_therapy_sizeof": ([c_u32], c_size),
        "tl_therapy_config_defaults": ([c_void_p], None),
        "tl_therapy_config_validate": ([c_void_p, _P(Check)], ctypes.c_int),
        "tl_therapy_config_field_count": ([], c_size),
        "tl_therapy_config_field": ([c_size], _P(Field)),
        "tl_therapy_config_find": ([c_char_p, c_size], c_i32),
        "tl_therapy_config_get": ([c_void_p, c_size, _P(c_i64)], c_bool),
        "tl_therapy_config_put": ([c_void_p, c_size, c_i64, _P(Check)], ctypes.c_int),
        "tl_therapy_config_set": ([c_void_p, c_char_p, c_size, c_i64, _P(Check)], ctypes.c_int),
        "tl_therapy_config_choice_value": ([c_size, c_char_p, c_size, _P(c_i64)], ctypes.c_int),
        "tl_therapy_cfg_err_name": ([ctypes.c_int], c_char_p),
        "tl_stim_charge_pc": ([c_u32, c_u32], c_u32),
        "tl_stim_density_cuc": ([c_u32, c_u32, c_u32], c_u32),
        "tl_stim_density_within": ([c_u32, c_u32, c_u32, c_u32], c_bool),
        "tl_stim_shannon_k_milli": ([c_u32, c_u32, c_u32], c_i32),
        "tl_therapy_init": ([c_void_p, c_void_p, c_void_p], None),
        "tl_therapy_configure": ([c_void_p, c_void_p, c_u32, _P(Check)], ctypes.c_int),
        "tl_therapy_command": ([c_void_p, c_u32, c_u32, _P(SupervisorOutput)], ctypes.c_int),
        "tl_therapy_step": ([c_void_p, _P(TherapyInput), _P(SupervisorOutput)], None),
        "tl_therapy_run": ([c_void_p, c_void_p, c_void_p, c_size], c_size),
        "tl_therapy_set_model_hash": ([c_void_p, c_char_p], None),
        "tl_event_log_init": ([c_void_p, c_void_p, c_u32], c_bool),
        "tl_event_log_read": ([c_void_p, c_u32, c_void_p, c_u32], RingRead),
        "tl_telemetry_init": ([c_void_p, c_void_p, c_u32], c_bool),
        "tl_telemetry_read": ([c_void_p, c_u32, c_void_p, c_u32], RingRead),
        "tl_stim_encode_set": ([_P(StimParams), c_u16, c_void_p, c_size], c_size),
        "tl_stim_encode_status": ([_P(StimStatusFrame), c_void_p, c_size], c_size),
        "tl_stim_parser_init": ([_P(StimParser)], None),
        "tl_stim_parser_feed": ([_P(StimParser), c_u8, _P(StimFrame)], c_bool),
        "tl_stim_decode_set": ([_P(StimFrame), _P(StimCommandC)], c_bool),
        "tl_stim_decode_status": ([_P(StimFrame), _P(StimStatusFrame)], c_bool),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res


class LayoutMismatch(RuntimeError):
    """A ctypes mirror does not match the C struct it stands for."""


@cache
def lib() -> ctypes.CDLL:
    """The SIL library with the therapy signatures declared and the layouts checked."""
    library = sil.library()
    _declare(library)
    for selector, mirror in _MIRRORS.items():
        size = library.tl_therapy_sizeof(selector)
        if size != ctypes.sizeof(mirror):
            raise LayoutMismatch(
                f"{mirror.__name__}: C size {size}, Python mirror {ctypes.sizeof(mirror)}"
            )
    return library


def new_object(selector: int) -> ctypes.Array[ctypes.c_char]:
    """Zeroed, suitably aligned storage for a C object of the given sizeof selector."""
    size = lib().tl_therapy_sizeof(selector)
    if size == 0:
        raise ValueError(f"unknown object selector {selector}")
    return ctypes.create_string_buffer(size)
