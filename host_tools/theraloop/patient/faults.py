"""Sensor and stimulator-link faults, injected on a schedule or on demand.

A fault is a window of patient time ``[start_s, start_s + duration_s)`` of one kind.
Sensor faults (applied by :class:`~theraloop.patient.afe.VirtualAfe`; signal faults to
the samples in the window, link faults to the blocks that start in it):

- ``dropout`` (link): the blocks are not sent; their sequence numbers are skipped, so
  the device sees a gap (`gaps`, `missing_blocks`).
- ``saturation`` (signal): the input is multiplied by `level` (default 50) before the
  ADC clips it at +/-32767: samples at the rails, blocks flagged ``SATURATED``.
- ``flatline`` (signal): the ADC output holds one value, `level` or else the last
  sample before the window.
- ``noise`` (signal): broadband Gaussian noise of `level` counts RMS (default 3000).
- ``corrupt`` (link): one payload bit of each block is flipped after the CRC was
  computed: `bad_crc`, then a gap.
- ``duplicate`` (link): each block is sent twice: `duplicates`.
- ``lead_off`` (link): the blocks carry the ``LEAD_OFF`` flag.
- ``garbage`` (link): `level` random bytes (default 64) precede each block:
  `bytes_discarded`.

Stimulator-link faults (what the virtual stimulator answers while they are active,
:mod:`.stimulator`; only with acknowledgments on):

- ``no_ack``: no STATUS frame (the device's acknowledgment timeout).
- ``error_status``: STATUS with status `level` (default 4, hardware fault; 1-2 are the
  device's LINK_NACK, 3-5 LINK_DEVICE).
- ``bad_ack_seq``: STATUS acknowledging a sequence number never sent (LINK_NACK).
- ``corrupt_status``: STATUS with a broken CRC (the device's parser drops it).

Schedules parse from text (``kind@start+duration[=level]``, comma separated, seconds),
e.g. ``dropout@10+2,saturation@30+1.5=80,error_status@60+1=3``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class FaultKind(enum.StrEnum):
    DROPOUT = "dropout"
    SATURATION = "saturation"
    FLATLINE = "flatline"
    NOISE = "noise"
    CORRUPT = "corrupt"
    DUPLICATE = "duplicate"
    LEAD_OFF = "lead_off"
    GARBAGE = "garbage"
    NO_ACK = "no_ack"
    ERROR_STATUS = "error_status"
    BAD_ACK_SEQ = "bad_ack_seq"
    CORRUPT_STATUS = "corrupt_status"

    @property
    def bit(self) -> int:
        """This kind's bit in the per-step `faults` record field."""
        return 1 << list(FaultKind).index(self)

    @property
    def is_link(self) -> bool:
        """A fault of the stimulator link (else of the sensing side)."""
        return self in LINK_FAULTS


SIGNAL_FAULTS = frozenset({FaultKind.SATURATION, FaultKind.FLATLINE, FaultKind.NOISE})
BLOCK_FAULTS = frozenset(
    {
        FaultKind.DROPOUT,
        FaultKind.CORRUPT,
        FaultKind.DUPLICATE,
        FaultKind.LEAD_OFF,
        FaultKind.GARBAGE,
    }
)
LINK_FAULTS = frozenset(
    {
        FaultKind.NO_ACK,
        FaultKind.ERROR_STATUS,
        FaultKind.BAD_ACK_SEQ,
        FaultKind.CORRUPT_STATUS,
    }
)
DEFAULT_LEVEL = {
    FaultKind.SATURATION: 50.0,
    FaultKind.NOISE: 3000.0,
    FaultKind.GARBAGE: 64.0,
    FaultKind.ERROR_STATUS: 4.0,
}


@dataclass(frozen=True)
class Fault:
    """One fault window."""

    kind: FaultKind
    start_s: float
    duration_s: float
    level: float | None = None
    """Kind-specific magnitude (see the module table); None = the default."""

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.duration_s <= 0:
            raise ValueError(f"{self.kind}: start must be >= 0 and duration > 0")
        if self.kind == FaultKind.GARBAGE and self.level is not None and self.level < 0:
            raise ValueError("garbage: level is a byte count >= 0")
        if (
            self.kind == FaultKind.ERROR_STATUS
            and self.level is not None
            and not (0 <= self.level <= 255)
        ):
            raise ValueError("error_status: level is a status code 0..255")

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    @property
    def value(self) -> float | None:
        """The level in effect (the default where none was given)."""
        return self.level if self.level is not None else DEFAULT_LEVEL.get(self.kind)

    def samples(self, rate_hz: int) -> tuple[int, int]:
        """The window as sample indices [first, end) at rate_hz (rounded: a window of
        0.2 s at 1000 Hz is exactly 200 samples, whatever the float arithmetic)."""
        first = round(self.start_s * rate_hz)
        return first, first + round(self.duration_s * rate_hz)

    def covers_sample(self, index: int, rate_hz: int) -> bool:
        first, end = self.samples(rate_hz)
        return first <= index < end

    def covers(self, t_s: float) -> bool:
        return self.start_s <= t_s < self.end_s

    def overlaps(self, t0_s: float, t1_s: float) -> bool:
        return self.start_s < t1_s and t0_s < self.end_s

    def spec(self) -> str:
        text = f"{self.kind}@{self.start_s:g}+{self.duration_s:g}"
        return text if self.level is None else f"{text}={self.level:g}"


_SPEC = re.compile(r"^\s*([a-z_]+)@([0-9.]+)\+([0-9.]+)(?:=([-0-9.e]+))?\s*$")


class FaultSchedule:
    """The faults of a session, sorted by start time; more can be added while it runs."""

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: list[Fault] = sorted(faults, key=lambda f: (f.start_s, f.kind))

    @classmethod
    def parse(cls, text: str) -> FaultSchedule:
        """``kind@start+duration[=level],...`` (see the module docstring)."""
        faults = []
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = _SPEC.match(part)
            if m is None:
                raise ValueError(f"fault {part!r}: expected kind@start+duration[=level]")
            try:
                kind = FaultKind(m.group(1))
            except ValueError:
                names = ", ".join(k.value for k in FaultKind)
                raise ValueError(f"fault {part!r}: unknown kind (one of {names})") from None
            level = float(m.group(4)) if m.group(4) is not None else None
            faults.append(Fault(kind, float(m.group(2)), float(m.group(3)), level))
        return cls(faults)

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        self._faults.sort(key=lambda f: (f.start_s, f.kind))
        return fault

    def __iter__(self) -> Iterator[Fault]:
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def overlapping(self, t0_s: float, t1_s: float) -> list[Fault]:
        return [f for f in self._faults if f.overlaps(t0_s, t1_s)]

    def at(self, t_s: float, kind: FaultKind) -> Fault | None:
        """The last-started fault of `kind` covering t_s, if any."""
        hit = None
        for f in self._faults:
            if f.kind == kind and f.covers(t_s):
                hit = f
        return hit

    def at_sample(self, index: int, rate_hz: int, kind: FaultKind) -> Fault | None:
        """The last-started fault of `kind` covering sample `index` at rate_hz, if any."""
        hit = None
        for f in self._faults:
            if f.kind == kind and f.covers_sample(index, rate_hz):
                hit = f
        return hit

    def spec(self) -> str:
        return ",".join(f.spec() for f in self._faults)
