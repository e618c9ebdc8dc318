"""Feature pipeline configuration, shared by the float reference and the device binding.

A :class:`FeatureConfig` says what the device computes per hop (features.h): band powers
through designed band-pass filters, line length, area, and a raw window, averaged over
``window_hops`` hops of ``hop`` samples. :meth:`FeatureConfig.features` describes the
resulting vector -- order, names, kinds and scales -- which is the feature side of a
model's input contract::

    cfg = FeatureConfig.default(1000, channels=1)
    [f.name for f in cfg.features()]
    # ['ch0.theta.power', 'ch0.alpha.power', 'ch0.beta.power', 'ch0.gamma.power',
    #  'ch0.line_length', 'ch0.area']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from theraloop.dsp.design import DEFAULT_BANDS, Band, BandFilter, design_bands

MAX_CHANNELS = 4
MAX_BANDS = 6
MAX_HOP = 1024
MAX_WINDOW_HOPS = 64
MAX_WINDOW_SAMPLES = 4096
MAX_RAW = 512
MAX_FRAC_BITS = 12

FeatureKind = Literal["band_power", "line_length", "area"]


@dataclass(frozen=True)
class FeatureSpec:
    """One element of the feature vector. Real value = device value * scale, in unit."""

    name: str
    kind: FeatureKind
    channel: int
    band: Band | None
    frac_bits: int

    @property
    def scale(self) -> float:
        return 2.0**-self.frac_bits

    @property
    def unit(self) -> str:
        return "counts^2" if self.kind == "band_power" else "counts"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "channel": self.channel,
            "frac_bits": self.frac_bits,
            "scale": self.scale,
            "unit": self.unit,
        }
        if self.band is not None:
            d["band_hz"] = [self.band.low_hz, self.band.high_hz]
        return d


@dataclass(frozen=True)
class FeatureConfig:
    """What the device's feature stage computes (mirrors tl_features_config_t)."""

    fs: float
    """Sample rate in Hz (the device stores it in 0.01 Hz)."""
    channels: int = 1
    bands: tuple[Band, ...] = DEFAULT_BANDS
    hop: int = 20
    """Samples per channel per hop (one control step)."""
    window_hops: int = 25
    """Averaging window, in hops."""
    raw_len: int = 0
    """Raw-window samples kept per channel (0: none)."""
    line_length: bool = True
    area: bool = True
    ll_frac_bits: int = 4
    area_frac_bits: int = 4

    def __post_init__(self) -> None:
        problems = []
        if not 10 <= self.fs <= 10_000:
            problems.append("fs must be 10 Hz..10 kHz")
        if not 1 <= self.channels <= MAX_CHANNELS:
            problems.append(f"channels must be 1..{MAX_CHANNELS}")
        if len(self.bands) > MAX_BANDS:
            problems.append(f"at most {MAX_BANDS} bands")
        if not 1 <= self.hop <= MAX_HOP:
            problems.append(f"hop must be 1..{MAX_HOP} samples")
        if not 1 <= self.window_hops <= MAX_WINDOW_HOPS:
            problems.append(f"window_hops must be 1..{MAX_WINDOW_HOPS}")
        if self.hop * self.window_hops > MAX_WINDOW_SAMPLES:
            problems.append(f"window (hop x window_hops) must be <= {MAX_WINDOW_SAMPLES}")
        if not 0 <= self.raw_len <= MAX_RAW:
            problems.append(f"raw_len must be 0..{MAX_RAW}")
        for bits in (self.ll_frac_bits, self.area_frac_bits, *(b.frac_bits for b in self.bands)):
            if not 0 <= bits <= MAX_FRAC_BITS:
                problems.append(f"frac_bits must be 0..{MAX_FRAC_BITS}")
                break
        if len({b.name for b in self.bands}) != len(self.bands):
            problems.append("band names must be unique")
        if problems:
            raise ValueError("invalid feature configuration: " + "; ".join(problems))

    @classmethod
    def default(cls, fs_hz: int, channels: int = 1) -> FeatureConfig:
        """The firmware's built-in configuration (tl_features_default_config)."""
        if fs_hz not in (250, 500, 1000):
            raise ValueError("the built-in configuration exists for 250, 500 and 1000 Hz")
        hop = fs_hz // 50
        return cls(fs=float(fs_hz), channels=channels, hop=hop, window_hops=25, raw_len=hop * 10)

    @property
    def window_samples(self) -> int:
        return self.hop * self.window_hops

    @cached_property
    def filters(self) -> list[BandFilter]:
        """The designed and quantised band filters (raises DesignError if not realisable)."""
        return design_bands(self.bands, self.fs)

    def features(self) -> list[FeatureSpec]:
        """The feature vector, in device order: per channel, bands, line length, area."""
        out: list[FeatureSpec] = []
        for ch in range(self.channels):
            for band in self.bands:
                out.append(
                    FeatureSpec(f"ch{ch}.{band.name}.power", "band_power", ch, band, band.frac_bits)
                )
            if self.line_length:
                out.append(
                    FeatureSpec(f"ch{ch}.line_length", "line_length", ch, None, self.ll_frac_bits)
                )
            if self.area:
                out.append(FeatureSpec(f"ch{ch}.area", "area", ch, None, self.area_frac_bits))
        return out

    @property
    def n_features(self) -> int:
        return len(self.features())

    def contract(self) -> dict[str, Any]:
        """The feature side of a model input contract (JSON-serialisable)."""
        return {
            "sample_rate_hz": self.fs,
            "channels": self.channels,
            "hop": self.hop,
            "window_hops": self.window_hops,
            "raw_len": self.raw_len,
            "features": [f.to_dict() for f in self.features()],
        }
