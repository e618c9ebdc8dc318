"""ctypes declarations of the control loop in the SIL library (libtheraloop_sil.so).

The struct mirrors are checked against the C sizes (``tl_sil_sizeof``) when the library
is first used, so a layout change in the C headers fails loudly instead of corrupting
memory.
"""

from __future__ import annotations

import ctypes
from functools import cache

import numpy as np

from theraloop.therapy import _native as therapy_native
from theraloop.therapy._native import (
    c_bool,
    c_char_p,
    c_i32,
    c_i64,
    c_size,
    c_u8,
    c_u16,
    c_u32,
    c_void_p,
)

STAGES = ("features", "inference", "policy", "supervisor", "step")
"""tl_loop_stage_t, in order."""

SIZEOF_STEP = 0
SIZEOF_CAPTURE = 1
SIZEOF_LOOP = 2
SIZEOF_SETTING = 3
SIZEOF_SET_RESULT = 4
SIZEOF_LOOP_CONFIG = 5
SIZEOF_STAGE = 6
SIZEOF_COUNTERS = 7


class Setting(ctypes.Structure):
    _fields_ = [
        ("name", c_void_p),
        ("name_len", c_size),
        ("text", c_void_p),
        ("text_len", c_size),
        ("value", c_i64),
        ("is_text", c_u8),
        ("reserved", c_u8 * 7),
    ]


class SetResult(ctypes.Structure):
    _fields_ = [
        ("err", ctypes.c_int),
        ("cfg_err", c_u32),
        ("field", c_i32),
        ("why", ctypes.c_char * 128),
        ("worst_charge_pc", c_u32),
        ("worst_density_cuc", c_u32),
        ("worst_shannon_k_milli", c_i32),
    ]


class SilStep(ctypes.Structure):
    _fields_ = [
        ("rec", therapy_native.TelemetryRecord),
        ("stage_cycles", c_u32 * len(STAGES)),
        ("clamps", c_u32),
        ("stim_seq", c_u16),
        ("silence", c_u8),
        ("inferred", c_u8),
        ("policy_event", c_u8),
        ("reserved", c_u8 * 3),
    ]


class Capture(ctypes.Structure):
    _fields_ = [
        ("stim", ctypes.POINTER(c_u8)),
        ("stim_cap", c_size),
        ("stim_len", c_size),
        ("steps", ctypes.POINTER(SilStep)),
        ("steps_cap", c_size),
        ("steps_len", c_size),
        ("overflow", c_u32),
        ("reserved", c_u32),
    ]


class AfeStats(ctypes.Structure):
    _fields_ = [
        (name, c_u32)
        for name in (
            "bytes",
            "bytes_discarded",
            "blocks_ok",
            "bad_header",
            "oversize",
            "bad_crc",
            "config_mismatch",
            "gaps",
            "missing_blocks",
            "duplicates",
            "out_of_order",
            "restarts",
            "saturated",
            "lead_off",
        )
    ]


class StageStats(ctypes.Structure):
    _fields_ = [
        ("sum", ctypes.c_uint64),
        ("count", c_u32),
        ("min", c_u32),
        ("max", c_u32),
        ("last", c_u32),
    ]


class Counters(ctypes.Structure):
    _fields_ = [
        ("steps", c_u32),
        ("silence_steps", c_u32),
        ("inferences", c_u32),
        ("inference_errors", c_u32),
        ("deadline_misses", c_u32),
        ("overruns", c_u32),
        ("gaps", c_u32),
        ("stim_frames", c_u32),
        ("commands", c_u32),
        ("stim_latches", c_u32),
    ]


STEP_DTYPE = np.dtype(
    [
        ("seq", "<u4"),
        ("time_ms", "<u4"),
        ("step", "<u4"),
        ("features", "<i4", (4,)),
        ("score", "<i4"),
        ("faults", "<u4"),
        ("amplitude_ua", "<u2"),
        ("target_ua", "<u2"),
        ("pulse_width_us", "<u2"),
        ("rate_dhz", "<u2"),
        ("model_class", "u1"),
        ("policy_state", "u1"),
        ("therapy_state", "u1"),
        ("mode", "u1"),
        ("score_valid", "u1"),
        ("enabled", "u1"),
        ("n_features", "u1"),
        ("reason", "u1"),
        ("stage_cycles", "<u4", (len(STAGES),)),
        ("clamps", "<u4"),
        ("stim_seq", "<u2"),
        ("silence", "u1"),
        ("inferred", "u1"),
        ("policy_event", "u1"),
        ("reserved", "u1", (3,)),
    ]
)
"""One captured control step (tl_sil_step_t) as a numpy record."""

_P = ctypes.POINTER

_MIRRORS: dict[int, type[ctypes.Structure]] = {
    SIZEOF_STEP: SilStep,
    SIZEOF_CAPTURE: Capture,
    SIZEOF_SETTING: Setting,
    SIZEOF_SET_RESULT: SetResult,
    SIZEOF_STAGE: StageStats,
    SIZEOF_COUNTERS: Counters,
}


def _declare(lib: ctypes.CDLL) -> None:
    sigs: dict[str, tuple[list[object], object]] = {
        "tl_sil_sizeof": ([c_u32], c_size),
        "tl_sil_loop_init": ([c_void_p, _P(Capture)], None),
        "tl_sil_feed_samples": (
            [c_void_p, c_void_p, c_size, c_u8, c_u16, c_u8, _P(c_u16), c_u8],
            c_size,
        ),
        "tl_sil_ram_model_load": ([c_char_p, c_size], ctypes.c_int),
        "tl_sil_model_state": ([c_void_p, _P(c_u32)], c_u32),
        "tl_loop_size": ([], c_size),
        "tl_loop_afe_input": ([c_void_p, c_void_p, c_size], None),
        "tl_loop_stim_input": ([c_void_p, c_void_p, c_size], None),
        "tl_loop_poll": ([c_void_p], None),
        "tl_loop_command": ([c_void_p, c_u32], ctypes.c_int),
        "tl_loop_now_ms": ([c_void_p], c_u32),
        "tl_loop_faults": ([c_void_p], c_u32),
        "tl_loop_counters": ([c_void_p], _P(Counters)),
        "tl_loop_stage": ([c_void_p, c_u32], _P(StageStats)),
        "tl_loop_afe_stats": ([c_void_p], _P(AfeStats)),
        "tl_loop_reset_timing": ([c_void_p], None),
        "tl_loop_therapy": ([c_void_p], c_void_p),
        "tl_loop_event_log": ([c_void_p], c_void_p),
        "tl_loop_telemetry": ([c_void_p], c_void_p),
        "tl_loop_model_step": ([c_void_p], c_void_p),
        "tl_settings_count": ([], c_size),
        "tl_settings_name": ([c_size], c_char_p),
        "tl_settings_find": ([c_char_p, c_size], c_i32),
        "tl_settings_group": ([c_size], c_char_p),
        "tl_settings_get": ([c_void_p, c_size, _P(c_i64), _P(c_char_p)], c_bool),
        "tl_settings_apply": ([c_void_p, _P(Setting), c_size, _P(SetResult)], ctypes.c_int),
        "tl_model_err_name": ([c_u32], c_char_p),
        "tl_model_err_str": ([c_u32], c_char_p),
        "tl_loop_cfg_err_name": ([c_u32], c_char_p),
        "tl_model_source_ram_update": ([c_void_p, c_void_p], None),
        "tl_factory_count": ([], c_size),
        "tl_model_source_name": ([c_u32], c_char_p),
        "tl_qmul_input": ([ctypes.c_float, c_void_p], c_bool),
        "tl_qmul_output": ([ctypes.c_float, c_void_p], c_bool),
        "tl_quantize_i32": ([c_i32, c_void_p, c_i32], ctypes.c_int8),
        "tl_dequantize_q15": ([ctypes.c_int8, c_void_p, c_i32], c_i32),
        "tl_mgmt_pack_telemetry": ([c_void_p, c_void_p], None),
        "tl_mgmt_pack_event": ([c_void_p, c_void_p], None),
    }
    for name, (args, res) in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = res


@cache
def lib() -> ctypes.CDLL:
    """The SIL library with the loop signatures declared and the layouts checked."""
    library = therapy_native.lib()
    _declare(library)
    for selector, mirror in _MIRRORS.items():
        size = library.tl_sil_sizeof(selector)
        if size != ctypes.sizeof(mirror):
            raise therapy_native.LayoutMismatch(
                f"{mirror.__name__}: C size {size}, Python mirror {ctypes.sizeof(mirror)}"
            )
    if STEP_DTYPE.itemsize != ctypes.sizeof(SilStep):
        raise therapy_native.LayoutMismatch(
            f"STEP_DTYPE: {STEP_DTYPE.itemsize} bytes, tl_sil_step_t {ctypes.sizeof(SilStep)}"
        )
    return library
