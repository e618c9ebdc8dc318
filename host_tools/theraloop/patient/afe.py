"""The virtual analog front end: electrode signal -> int16 blocks -> AFE link frames.

Per hop: stimulation artifact added (:mod:`.artifacts`), signal faults applied
(saturation, flatline, noise), quantised to int16 (rounded, clipped at +/-32767; a block
with a clipped sample carries the ``SATURATED`` flag), cut into blocks of
`block_samples`, numbered (one sequence number per block, also for blocks that are not
sent), encoded with :mod:`theraloop.links.afe` and damaged by the link faults (dropout,
corrupt, duplicate, lead-off flag, garbage). Every random draw (noise, garbage, which byte
a corruption flips) comes from the AFE's own generator, so the bytes are a function of
the seed and the input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theraloop.links import afe as link
from theraloop.patient.artifacts import StimArtifact
from theraloop.patient.base import Stimulation, check_rate
from theraloop.patient.faults import SIGNAL_FAULTS, FaultKind, FaultSchedule

FULL_SCALE = 32767


@dataclass(frozen=True)
class BlockOut:
    """What happened to one block."""

    seq: int
    samples: int
    flags: int
    copies: int
    """How many times it was sent (0 = dropped, 2 = duplicated)."""
    corrupted: bool
    garbage: int
    """Random bytes sent before it."""


@dataclass
class AfeHop:
    """One hop through the AFE."""

    data: bytes
    """The bytes to send on the AFE link, in order."""
    samples: np.ndarray
    """(n, channels) int16: the ADC output (what the blocks carry, sent or not)."""
    blocks: list[BlockOut] = field(default_factory=list)
    faults: int = 0
    """FaultKind bits active during the hop."""
    clipped: int = 0
    """Samples clipped at the rails."""


class VirtualAfe:
    """Turns a patient's hops into AFE link bytes (see the module docstring)."""

    def __init__(
        self,
        rate_hz: int,
        *,
        channels: int = 1,
        block_samples: int = 20,
        start_seq: int = 0,
        faults: FaultSchedule | None = None,
        artifact: StimArtifact | None = None,
        seed: int | np.random.SeedSequence = 0,
    ) -> None:
        self.rate_hz = check_rate(rate_hz)
        if not 1 <= channels <= link.MAX_CHANNELS:
            raise ValueError(f"channels must be 1..{link.MAX_CHANNELS}")
        if not 1 <= block_samples <= link.MAX_SAMPLES_PER_CHANNEL or (
            block_samples * channels > link.MAX_SAMPLES
        ):
            raise ValueError(
                f"block_samples must be 1..{link.MAX_SAMPLES_PER_CHANNEL} and "
                f"block_samples x channels <= {link.MAX_SAMPLES}"
            )
        self.channels = channels
        self.block_samples = block_samples
        self.faults = faults if faults is not None else FaultSchedule()
        self.artifact = artifact
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._rng = np.random.Generator(np.random.PCG64(ss))
        self._seq = start_seq & 0xFFFF
        self._n = 0
        self._pending = np.zeros((0, channels), dtype=np.int16)
        self._pending_clip = np.zeros(0, dtype=bool)
        self._last = np.zeros(channels, dtype=np.int16)
        self._hold: np.ndarray | None = None

    @property
    def time_s(self) -> float:
        return self._n / self.rate_hz

    @property
    def next_seq(self) -> int:
        return self._seq

    def convert(self, analog: np.ndarray, stim: Stimulation) -> AfeHop:
        """One hop: `analog` is (n, channels) float counts starting at `time_s`."""
        x = np.array(analog, dtype=np.float64, copy=True)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.channels:
            raise ValueError(f"analog must be (n, {self.channels})")
        n = x.shape[0]
        rate = self.rate_hz
        idx = self._n + np.arange(n)
        if self.artifact is not None:
            x += self.artifact.render(self._n, n, rate, stim)[:, None]
        bits = 0
        for f in self.faults:
            if f.kind.is_link or f.kind not in SIGNAL_FAULTS:
                continue
            first, end = f.samples(rate)
            mask = (idx >= first) & (idx < end)
            if not mask.any():
                continue
            bits |= f.kind.bit
            if f.kind == FaultKind.SATURATION:
                x[mask] *= f.value or 1.0
            elif f.kind == FaultKind.NOISE:
                x[mask] += self._rng.standard_normal((int(mask.sum()), self.channels)) * (
                    f.value or 0.0
                )
        q = np.rint(x)
        clipped = np.any(np.abs(q) > FULL_SCALE, axis=1)
        q = np.clip(q, -FULL_SCALE, FULL_SCALE).astype(np.int16)
        flat = self._flatline_mask(idx, q)
        if flat is not None:
            clipped &= ~flat
        if n:
            self._last = q[-1].copy()
        self._n += n
        samples = q.copy()
        # blocks: a block may span two hops (the remainder waits for the next hop)
        q = np.concatenate([self._pending, q])
        clip = np.concatenate([self._pending_clip, clipped])
        start_index = self._n - q.shape[0]
        full = (q.shape[0] // self.block_samples) * self.block_samples
        self._pending, self._pending_clip = q[full:], clip[full:]
        out = bytearray()
        blocks = []
        for b in range(0, full, self.block_samples):
            first = start_index + b
            blk = q[b : b + self.block_samples]
            flags = link.FLAG_SATURATED if clip[b : b + self.block_samples].any() else 0
            if self.faults.at_sample(first, rate, FaultKind.LEAD_OFF):
                flags |= link.FLAG_LEAD_OFF
            frame = link.encode_block(self._seq, blk, self.rate_hz, flags)
            copies, corrupted, junk = 1, False, 0
            if self.faults.at_sample(first, rate, FaultKind.DROPOUT):
                copies = 0
            else:
                if self.faults.at_sample(first, rate, FaultKind.CORRUPT):
                    offset = link.HEADER_SIZE + int(self._rng.integers(0, 2 * blk.size))
                    frame = link.corrupt(frame, offset, 1 << int(self._rng.integers(0, 8)))
                    corrupted = True
                if self.faults.at_sample(first, rate, FaultKind.DUPLICATE):
                    copies = 2
                g = self.faults.at_sample(first, rate, FaultKind.GARBAGE)
                if g is not None:
                    junk = int(g.value or 0)
                    out += self._rng.integers(0, 256, junk, dtype=np.uint8).tobytes()
                out += frame * copies
            for kind in (
                FaultKind.LEAD_OFF,
                FaultKind.DROPOUT,
                FaultKind.CORRUPT,
                FaultKind.DUPLICATE,
                FaultKind.GARBAGE,
            ):
                if self.faults.at_sample(first, rate, kind):
                    bits |= kind.bit
            blocks.append(BlockOut(self._seq, blk.shape[0], flags, copies, corrupted, junk))
            self._seq = (self._seq + 1) & 0xFFFF
        return AfeHop(bytes(out), samples, blocks, bits, int(clipped.sum()))

    def _flatline_mask(self, idx: np.ndarray, q: np.ndarray) -> np.ndarray | None:
        """Apply flatline windows in place on the quantised samples; the mask, or None."""
        if not any(f.kind == FaultKind.FLATLINE for f in self.faults):
            self._hold = None
            return None
        fault_any = None
        for i in range(idx.shape[0]):
            f = self.faults.at_sample(int(idx[i]), self.rate_hz, FaultKind.FLATLINE)
            if f is None:
                self._hold = None
                continue
            if self._hold is None:
                if f.level is not None:
                    level = int(np.clip(round(f.level), -FULL_SCALE, FULL_SCALE))
                    self._hold = np.full(self.channels, level, dtype=np.int16)
                else:
                    self._hold = (q[i - 1] if i > 0 else self._last).copy()
            q[i] = self._hold
            if fault_any is None:
                fault_any = np.zeros(idx.shape[0], dtype=bool)
            fault_any[i] = True
        return fault_any
