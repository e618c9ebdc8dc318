"""The device's feature code, run on the PC through the SIL library (ctypes).

This is the exact integer code of firmware/core/src/dsp (features.c, biquad.c) built for
the host as part of ``libtheraloop_sil.so``: the feature vectors it returns are the ones
the device computes from the same samples, bit for bit. Use it wherever features feed a
model (training sets, replay), never a float re-implementation::

    cfg = FeatureConfig.default(1000)
    run = FixedFeatures(cfg).run(samples_int16)      # run.values: (hops, n) int32
    real = run.scaled()                              # counts^2 / counts, float64

:func:`to_c_config` builds the C ``tl_features_config_t`` (quantised coefficients from
:mod:`theraloop.dsp.design`); the struct mirrors are checked against the library's
``sizeof`` at load time.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np

from theraloop import sil
from theraloop.dsp import config as cfgmod
from theraloop.dsp.config import FeatureConfig
from theraloop.dsp.design import centihz

MAX_SECTIONS = 4

# tl_feat_err_t
ERROR_NAMES = {
    0: "OK",
    1: "NULL",
    2: "RATE",
    3: "CHANNELS",
    4: "BANDS",
    5: "BAND_EDGES",
    6: "NYQUIST",
    7: "SECTIONS",
    8: "UNSTABLE",
    9: "HOP",
    10: "WINDOW",
    11: "RAW_LEN",
    12: "FRAC_BITS",
    13: "NOTHING",
    14: "INDEX",
}
KIND_NAMES = {1: "band_power", 2: "line_length", 3: "area"}


class BiquadCoefs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("b0", "b1", "b2", "a1", "a2")]


class FeatBand(ctypes.Structure):
    _fields_ = [
        ("low_centihz", ctypes.c_uint32),
        ("high_centihz", ctypes.c_uint32),
        ("sos", BiquadCoefs * MAX_SECTIONS),
        ("n_sections", ctypes.c_uint8),
        ("frac_bits", ctypes.c_uint8),
    ]


class FeaturesConfig(ctypes.Structure):
    """Mirror of tl_features_config_t."""

    _fields_ = [
        ("rate_centihz", ctypes.c_uint32),
        ("hop", ctypes.c_uint16),
        ("window_hops", ctypes.c_uint16),
        ("raw_len", ctypes.c_uint16),
        ("channels", ctypes.c_uint8),
        ("n_bands", ctypes.c_uint8),
        ("line_length", ctypes.c_bool),
        ("area", ctypes.c_bool),
        ("ll_frac_bits", ctypes.c_uint8),
        ("area_frac_bits", ctypes.c_uint8),
        ("bands", FeatBand * cfgmod.MAX_BANDS),
    ]


class FeatureDesc(ctypes.Structure):
    """Mirror of tl_feature_desc_t."""

    _fields_ = [
        ("low_centihz", ctypes.c_uint32),
        ("high_centihz", ctypes.c_uint32),
        ("kind", ctypes.c_uint8),
        ("channel", ctypes.c_uint8),
        ("band", ctypes.c_uint8),
        ("frac_bits", ctypes.c_uint8),
    ]


class FeatureConfigError(ValueError):
    """The device code refused a configuration (tl_features_config_validate)."""

    def __init__(self, code: int, reason: str, band: int | None) -> None:
        where = f" (band {band})" if band is not None else ""
        super().__init__(f"{ERROR_NAMES.get(code, code)}: {reason}{where}")
        self.code = code
        self.reason = reason
        self.band = band


_P = ctypes.c_void_p
_I16P = ctypes.POINTER(ctypes.c_int16)
_I32P = ctypes.POINTER(ctypes.c_int32)
_SIGNATURES: dict[str, tuple[list[Any], Any]] = {
    "tl_features_config_size": ([], ctypes.c_size_t),
    "tl_features_state_size": ([], ctypes.c_size_t),
    "tl_features_config_validate": (
        [ctypes.POINTER(FeaturesConfig), ctypes.POINTER(ctypes.c_uint8)],
        ctypes.c_int,
    ),
    "tl_features_err_str": ([ctypes.c_int], ctypes.c_char_p),
    "tl_features_count_for": ([ctypes.POINTER(FeaturesConfig)], ctypes.c_size_t),
    "tl_features_describe": (
        [ctypes.POINTER(FeaturesConfig), ctypes.c_size_t, ctypes.POINTER(FeatureDesc)],
        ctypes.c_int,
    ),
    "tl_features_default_config": (
        [ctypes.POINTER(FeaturesConfig), ctypes.c_uint16, ctypes.c_uint8],
        ctypes.c_int,
    ),
    "tl_features_init": ([_P, ctypes.POINTER(FeaturesConfig)], ctypes.c_int),
    "tl_features_reset": ([_P], None),
    "tl_features_push": (
        [_P, _I16P, ctypes.c_size_t, ctypes.POINTER(ctypes.c_bool)],
        ctypes.c_size_t,
    ),
    "tl_features_read": ([_P, _I32P, ctypes.c_size_t], ctypes.c_size_t),
    "tl_features_count": ([_P], ctypes.c_size_t),
    "tl_features_hops": ([_P], ctypes.c_uint32),
    "tl_features_window_full": ([_P], ctypes.c_bool),
    "tl_features_raw_window": ([_P, ctypes.c_uint8, _I16P, ctypes.c_size_t], ctypes.c_size_t),
}


def library() -> ctypes.CDLL:
    """The SIL library with the feature functions declared (and struct sizes checked)."""
    lib = sil.library()
    if not getattr(lib, "_tl_features_declared", False):
        for name, (argtypes, restype) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes = argtypes
            fn.restype = restype
        c_size = lib.tl_features_config_size()
        if c_size != ctypes.sizeof(FeaturesConfig):
            raise RuntimeError(
                f"tl_features_config_t is {c_size} bytes in {sil.library_path()} but "
                f"{ctypes.sizeof(FeaturesConfig)} in theraloop.dsp.fixed: rebuild the host "
                "tree or update the mirror"
            )
        lib._tl_features_declared = True
    return lib


def to_c_config(config: FeatureConfig) -> FeaturesConfig:
    """The C configuration for `config` (band filters designed and quantised)."""
    c = FeaturesConfig()
    c.rate_centihz = centihz(config.fs)
    c.hop = config.hop
    c.window_hops = config.window_hops
    c.raw_len = config.raw_len
    c.channels = config.channels
    c.n_bands = len(config.bands)
    c.line_length = config.line_length
    c.area = config.area
    c.ll_frac_bits = config.ll_frac_bits
    c.area_frac_bits = config.area_frac_bits
    for i, flt in enumerate(config.filters):
        band = c.bands[i]
        band.low_centihz = centihz(flt.band.low_hz)
        band.high_centihz = centihz(flt.band.high_hz)
        band.n_sections = flt.coefs.shape[0]
        band.frac_bits = flt.band.frac_bits
        for k, (b0, b1, b2, a1, a2) in enumerate(flt.coefs.tolist()):
            band.sos[k] = BiquadCoefs(b0, b1, b2, a1, a2)
    return c


def validate(c_config: FeaturesConfig) -> None:
    """Run the device's validation; raise FeatureConfigError with its reason."""
    lib = library()
    bad = ctypes.c_uint8(0xFF)
    err = lib.tl_features_config_validate(ctypes.byref(c_config), ctypes.byref(bad))
    if err != 0:
        reason = lib.tl_features_err_str(err).decode()
        raise FeatureConfigError(err, reason, None if bad.value == 0xFF else bad.value)


def describe(c_config: FeaturesConfig) -> list[dict[str, int | str]]:
    """The device's own description of each feature (tl_features_describe)."""
    lib = library()
    out = []
    for i in range(lib.tl_features_count_for(ctypes.byref(c_config))):
        d = FeatureDesc()
        err = lib.tl_features_describe(ctypes.byref(c_config), i, ctypes.byref(d))
        if err != 0:
            raise FeatureConfigError(err, lib.tl_features_err_str(err).decode(), None)
        out.append(
            {
                "kind": KIND_NAMES[d.kind],
                "channel": d.channel,
                "band": d.band,
                "frac_bits": d.frac_bits,
                "low_centihz": d.low_centihz,
                "high_centihz": d.high_centihz,
            }
        )
    return out


@dataclass
class FixedRun:
    """The device's output for a sample sequence, one row per completed hop."""

    values: np.ndarray
    """(hops, n_features) int32: exactly what the device's feature vector holds."""
    window_full: np.ndarray
    """(hops,) bool: the averaging window was full at that hop."""
    scales: np.ndarray
    """(n_features,) float: real value = value * scale (2**-frac_bits)."""
    raw: np.ndarray | None = None
    """(hops, channels, raw_len) int16 raw windows (zero-padded at the front in warm-up),
    if requested."""

    def scaled(self) -> np.ndarray:
        """Values in real units (counts^2 for band power, counts otherwise)."""
        return self.values.astype(np.float64) * self.scales


class FixedFeatures:
    """A feature-stage instance of the device code (state persists across calls)."""

    def __init__(self, config: FeatureConfig) -> None:
        self.config = config
        self._lib = library()
        self._c_config = to_c_config(config)
        validate(self._c_config)
        self._state = ctypes.create_string_buffer(self._lib.tl_features_state_size())
        err = self._lib.tl_features_init(self._state, ctypes.byref(self._c_config))
        if err != 0:  # validated above; kept for safety against a diverging library
            raise FeatureConfigError(err, self._lib.tl_features_err_str(err).decode(), None)
        self.n_features = int(self._lib.tl_features_count(self._state))
        self.scales = np.array([f.scale for f in config.features()], dtype=np.float64)

    def reset(self) -> None:
        self._lib.tl_features_reset(self._state)

    @property
    def hops(self) -> int:
        return int(self._lib.tl_features_hops(self._state))

    def run(self, samples: np.ndarray, *, raw: bool = False) -> FixedRun:
        """Push int16 samples ((n,) or (n, channels)); collect a vector per completed hop.

        Samples beyond the last full hop stay in the device state (a later call continues
        the hop). Values outside int16 are refused rather than wrapped.
        """
        cfg = self.config
        x = np.asarray(samples)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != cfg.channels:
            raise ValueError(f"samples must have shape (n,) or (n, {cfg.channels})")
        if x.dtype != np.int16:
            out_of_range = x.size > 0 and (x.min() < -32768 or x.max() > 32767)
            if np.issubdtype(x.dtype, np.floating) or out_of_range:
                raise ValueError("samples must be int16 ADC counts")
            x = x.astype(np.int16)
        x = np.ascontiguousarray(x)
        frames = x.shape[0]
        max_hops = (frames + cfg.hop) // cfg.hop
        values = np.zeros((max_hops, self.n_features), dtype=np.int32)
        full = np.zeros(max_hops, dtype=bool)
        raws = np.zeros((max_hops, cfg.channels, cfg.raw_len), dtype=np.int16) if raw else None
        raw_buf = (ctypes.c_int16 * max(cfg.raw_len, 1))()
        hop_done = ctypes.c_bool(False)
        base = x.ctypes.data
        pos = 0
        count = 0
        while pos < frames:
            ptr = ctypes.cast(base + pos * cfg.channels * 2, _I16P)
            used = self._lib.tl_features_push(
                self._state, ptr, frames - pos, ctypes.byref(hop_done)
            )
            if used == 0:
                raise RuntimeError("tl_features_push consumed nothing")
            pos += used
            if not hop_done.value:
                continue
            row = values[count]
            got = self._lib.tl_features_read(
                self._state, row.ctypes.data_as(_I32P), self.n_features
            )
            if got != self.n_features:
                raise RuntimeError(f"tl_features_read returned {got}, want {self.n_features}")
            full[count] = bool(self._lib.tl_features_window_full(self._state))
            if raws is not None:
                for ch in range(cfg.channels):
                    n = self._lib.tl_features_raw_window(self._state, ch, raw_buf, cfg.raw_len)
                    if n:
                        raws[count, ch, cfg.raw_len - n :] = np.frombuffer(
                            raw_buf, dtype=np.int16, count=n
                        )
            count += 1
        return FixedRun(
            values=values[:count].copy(),
            window_full=full[:count].copy(),
            scales=self.scales,
            raw=None if raws is None else raws[:count].copy(),
        )


def default_c_config(fs_hz: int, channels: int = 1) -> FeaturesConfig:
    """The firmware's built-in configuration, as the device code builds it."""
    lib = library()
    c = FeaturesConfig()
    err = lib.tl_features_default_config(ctypes.byref(c), fs_hz, channels)
    if err != 0:
        raise FeatureConfigError(err, lib.tl_features_err_str(err).decode(), None)
    return c
