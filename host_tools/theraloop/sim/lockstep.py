"""Lockstep sessions: a virtual patient driving a device endpoint one control step at a time.

    with SocketEndpoint.from_qemu(qemu) as ep:
        session = LockstepSession(ep, BetaPatient(1000, seed=1), seed=1)
        result = session.run(seconds=60, progress=bar_update)

Each step (one hop, default 20 ms of samples):

1. the patient produces the hop's samples under the stimulation currently applied;
2. the virtual AFE adds the stimulation artifact, applies the scheduled sensor faults,
   quantises, frames and damages the blocks (:class:`~theraloop.patient.afe.VirtualAfe`);
3. the bytes are sent on the endpoint's AFE link;
4. the driver waits (bounded by `step_timeout_s`) for the STIM_SET frames this step must
   produce -- the number is predicted by running the device's receiver rules
   (:class:`~theraloop.links.afe.AfeDecoder`, identical to the C receiver) on the bytes
   sent and counting completed hops under the device's clock model; a missing frame
   raises :class:`LockstepError` naming the step;
5. the stimulator applies the frames (they take effect for the next hop: one hop of
   loop latency, as on hardware), accounts for the energy delivered, and, if it
   acknowledges, sends STATUS frames back (with the scheduled link faults);
6. a record row is appended (:data:`RECORD_DTYPE`).

The device's behaviour depends only on the bytes it receives (its time base is the sample
clock), so a session is a function of the patient, its seed and the fault schedule: the
same seed gives the same bytes in both directions and the same records
(:meth:`SessionResult.digest`). One exception: STATUS frames travel on another UART than
the samples, so on an emulator the step in which the device reads them is not pinned;
with acknowledgments on, compare records, not the device's timing of link faults.

Endpoints (:class:`Endpoint`): :class:`SocketEndpoint` (the AFE and stimulator USARTs of
QEMU, or any ``socket://`` pair), :class:`SilLoopEndpoint` (the firmware's control loop
in process, :mod:`theraloop.loop.sil`) and :class:`SilPartsEndpoint` (the core's C parts
-- receiver, features, therapy, stimulator codec -- wired in Python, without the loop).

Frames that arrive before the first step (the loop's boot frame, the frames of the
commands that configured and started therapy) are applied by the stimulator before the
session starts (:meth:`LockstepSession.settle`) and kept out of the records. Frames a
command produces during the session (pause, stop) are counted in the step during which
they arrive.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import hashlib
import select
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlparse

import numpy as np

from theraloop.errors import DeviceUnavailable, ExitCode, TheraloopError
from theraloop.links import afe as afe_link
from theraloop.links import stim as stim_link
from theraloop.patient.afe import AfeHop, VirtualAfe
from theraloop.patient.artifacts import StimArtifact
from theraloop.patient.base import Patient
from theraloop.patient.faults import Fault, FaultKind, FaultSchedule
from theraloop.patient.stimulator import Stimulator

NO_STATUS = 0xFF

RECORD_DTYPE = np.dtype(
    [
        ("step", "<u4"),
        ("t_s", "<f8"),
        ("x_min", "<i2"),
        ("x_max", "<i2"),
        ("x_rms", "<f4"),
        ("biomarker", "<f4"),
        ("symptom", "<f4"),
        ("ictal", "u1"),
        ("faults", "<u4"),
        ("blocks_sent", "<u2"),
        ("bytes_sent", "<u4"),
        ("clipped", "<u2"),
        ("device_steps", "<u4"),
        ("expected", "u1"),
        ("frames", "u1"),
        ("refused", "u1"),
        ("seq", "<u2"),
        ("enabled", "u1"),
        ("amplitude_ua", "<u2"),
        ("pulse_width_us", "<u2"),
        ("rate_dhz", "<u2"),
        ("applied_ua", "<u2"),
        ("status", "u1"),
    ]
)
"""One row per step. t_s: patient time at the end of the hop; x_*: ADC samples of channel
0 in the hop; biomarker/symptom/ictal: the patient's ground truth (:class:`~theraloop.
patient.base.Hop`); faults: FaultKind bits active; device_steps: control steps the device
has completed (predicted from the bytes sent); expected: STIM_SET frames the step had to
produce (new device steps); frames/refused: STIM_SET frames received in the step / of
which invalid (frames > expected: frames of operator commands, or silence steps);
seq..rate_dhz: the last valid command received (carried over when none); applied_ua: the
amplitude delivered during the hop; status: the STATUS code sent back (255: none)."""


class LockstepError(TheraloopError):
    """The device did not produce the frames a step must produce (or the link failed)."""

    exit_code = ExitCode.TIMEOUT

    def __init__(self, step: int, message: str) -> None:
        self.step = step
        super().__init__(f"lockstep step {step}: {message}")


class Endpoint(Protocol):
    """Where the device is: its AFE input and its stimulator link, as byte pipes.

    `synchronous` endpoints (in-process) have produced everything they will produce by
    the time `send_afe` returns, so the driver does not wait for them."""

    synchronous: bool

    def send_afe(self, data: bytes) -> None:
        """Write bytes to the device's AFE link (USART2)."""
        ...

    def send_stim(self, data: bytes) -> None:
        """Write bytes to the device's stimulator link (USART3): STATUS frames."""
        ...

    def recv_stim(self, timeout_s: float) -> bytes:
        """Bytes the device wrote on its stimulator link: whatever is available, waiting
        up to `timeout_s` for the first byte; b"" when none came."""
        ...

    def close(self) -> None: ...


class DeviceClock(enum.StrEnum):
    """How the device's control-step clock advances (must match the firmware)."""

    RECEIVED = "received"
    """One step per `hop` samples received (missing blocks do not advance it)."""
    GAP_FILLED = "gap_filled"
    """Missing blocks count as received (each as long as the block reporting the gap)."""


class StepCounter:
    """Predicts the device's control steps from the AFE bytes it is sent."""

    def __init__(self, rate_hz: int, channels: int, hop: int, clock: DeviceClock) -> None:
        self.decoder = afe_link.AfeDecoder(rate_hz, channels)
        self.hop = hop
        self.clock = clock
        self.samples = 0
        self.steps = 0

    def feed(self, data: bytes) -> int:
        """New control steps completed by `data`."""
        for block in self.decoder.feed(data):
            n = block.samples_per_channel
            if self.clock == DeviceClock.GAP_FILLED:
                n *= 1 + block.missing_before
            self.samples += n
        new = self.samples // self.hop - self.steps
        self.steps += new
        return new


# --- endpoints ---------------------------------------------------------------------------


def _connect(url: str, deadline: float) -> socket.socket:
    parsed = urlparse(url)
    if parsed.scheme != "socket" or not parsed.hostname or parsed.port is None:
        raise DeviceUnavailable(f"{url}: expected socket://HOST:PORT")
    last: OSError | None = None
    while True:
        try:
            s = socket.create_connection((parsed.hostname, parsed.port), timeout=1.0)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(None)
            return s
        except OSError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise DeviceUnavailable(f"cannot connect to {url}: {last}")
        time.sleep(0.05)


class SocketEndpoint:
    """The AFE and stimulator links on two TCP sockets (QEMU's ``-serial tcp:`` ports)."""

    synchronous = False

    def __init__(self, afe_url: str, stim_url: str, *, connect_timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + connect_timeout_s
        self._stim = _connect(stim_url, deadline)
        try:
            self._afe = _connect(afe_url, deadline)
        except BaseException:
            self._stim.close()
            raise
        self.afe_url, self.stim_url = afe_url, stim_url

    @classmethod
    def from_qemu(cls, runner: Any, **kwargs: Any) -> SocketEndpoint:
        """From a running :class:`~theraloop.sim.qemu.QemuRunner` (or anything with
        `afe_url` and `stim_url`)."""
        return cls(runner.afe_url, runner.stim_url, **kwargs)

    def send_afe(self, data: bytes) -> None:
        self._send(self._afe, data, self.afe_url)

    def send_stim(self, data: bytes) -> None:
        self._send(self._stim, data, self.stim_url)

    def recv_stim(self, timeout_s: float) -> bytes:
        ready, _, _ = select.select([self._stim], [], [], max(0.0, timeout_s))
        if not ready:
            return b""
        try:
            data = self._stim.recv(65536)
        except OSError as exc:
            raise DeviceUnavailable(f"{self.stim_url}: {exc}") from exc
        if not data:
            raise DeviceUnavailable(f"{self.stim_url}: connection closed by the device side")
        return data

    def close(self) -> None:
        for s in (self._afe, self._stim):
            with contextlib.suppress(OSError):
                s.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def _send(s: socket.socket, data: bytes, url: str) -> None:
        if not data:
            return
        try:
            s.sendall(data)
        except OSError as exc:
            raise DeviceUnavailable(f"{url}: {exc}") from exc


class _CConfig(ctypes.Structure):
    _fields_ = [("sample_rate_hz", ctypes.c_uint16), ("channels", ctypes.c_uint8)]


class _CBlock(ctypes.Structure):
    _fields_ = [
        ("samples", ctypes.POINTER(ctypes.c_int16)),
        ("seq", ctypes.c_uint16),
        ("samples_per_channel", ctypes.c_uint16),
        ("sample_rate_hz", ctypes.c_uint16),
        ("missing_before", ctypes.c_uint16),
        ("channels", ctypes.c_uint8),
        ("flags", ctypes.c_uint8),
        ("discontinuity", ctypes.c_bool),
    ]


_BLOCK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(_CBlock))
_TL_SIZEOF_STIM_MONITOR = 10


class SilPartsEndpoint:
    """An in-process device made of the core's own C parts (SIL library), wired in Python:

    AFE bytes -> C receiver (``tl_afe_rx``) -> C feature stage (``tl_features``, the
    built-in configuration for the rate) -> score = one feature (default the channel-0
    beta power) >> `score_shift` -> C therapy (``tl_therapy_step``: policy + safety
    supervisor) -> C STIM_SET encoder (``tl_stim_encode_set``). STATUS bytes -> C stim
    parser -> C link monitor, whose fault bits join the step's inputs. Per step, a gap or
    restart reported by the receiver sets DROPOUT and a SATURATED block SATURATION.

    It is *not* the firmware's control loop (C, see docs/control-loop.md): no model, no
    flatline/artifact detectors, no timing. It exercises the driver, the patient and the
    link formats against real device code without an emulator; the clock is
    :attr:`DeviceClock.RECEIVED`. The therapy object is :attr:`therapy` (events,
    telemetry).
    """

    synchronous = True

    def __init__(
        self,
        config: Any,
        *,
        rate_hz: int = 1000,
        channels: int = 1,
        feature_config: Any = None,
        score_feature: str = "ch0.beta.power",
        score_shift: int = 0,
        start: bool = True,
        telemetry_capacity: int = 1 << 16,
    ) -> None:
        from theraloop import sil
        from theraloop.dsp.config import FeatureConfig
        from theraloop.dsp.fixed import FixedFeatures
        from theraloop.therapy import Therapy, _native
        from theraloop.therapy.codes import Command

        self._native = _native
        lib = _native.lib()
        self.config = config
        self.therapy = Therapy(config, telemetry_capacity=telemetry_capacity)
        self.features = FixedFeatures(feature_config or FeatureConfig.default(rate_hz, channels))
        names = [f.name for f in self.features.config.features()]
        if score_feature not in names:
            raise ValueError(f"no feature {score_feature!r} (have {', '.join(names)})")
        self._score_index = names.index(score_feature)
        self._score_shift = score_shift
        self.rate_hz = rate_hz
        self.hop = self.features.config.hop
        # AFE receiver
        self._lib = sil.library()
        self._lib.tl_afe_rx_size.restype = ctypes.c_size_t
        self._lib.tl_afe_rx_init.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(_CConfig),
            _BLOCK_FN,
            ctypes.c_void_p,
        ]
        self._lib.tl_afe_rx_init.restype = ctypes.c_int
        self._lib.tl_afe_rx_feed.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        self._lib.tl_afe_rx_feed.restype = None
        self._rx = ctypes.create_string_buffer(self._lib.tl_afe_rx_size())
        self._cb = _BLOCK_FN(self._on_block)
        if (
            self._lib.tl_afe_rx_init(
                self._rx, ctypes.byref(_CConfig(rate_hz, channels)), self._cb, None
            )
            != 0
        ):
            raise ValueError("the AFE receiver refused the configuration")
        # stimulator link
        self._parser = _native.StimParser()
        lib.tl_stim_parser_init(ctypes.byref(self._parser))
        self._monitor = ctypes.create_string_buffer(lib.tl_therapy_sizeof(_TL_SIZEOF_STIM_MONITOR))
        lib.tl_stim_monitor_init.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.tl_stim_monitor_sent.argtypes = [ctypes.c_void_p, ctypes.c_uint16, ctypes.c_uint32]
        lib.tl_stim_monitor_status.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(_native.StimStatusFrame),
            ctypes.c_uint32,
        ]
        lib.tl_stim_monitor_faults.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.tl_stim_monitor_faults.restype = ctypes.c_uint32
        lib.tl_stim_monitor_init(self._monitor, int(config["stim_ack_timeout_ms"]))
        self._out = bytearray()
        self._error: BaseException | None = None
        self._seq = 0
        self._pending_faults = 0
        self.steps = 0
        self.statuses = 0
        if start:
            self.therapy.command(Command.START, now_ms=0)

    def _now_ms(self) -> int:
        return (self.steps * self.hop * 1000) // self.rate_hz

    def _on_block(self, _ctx: int, p: Any) -> None:
        # ctypes ignores exceptions raised in callbacks: keep the first, raise it later
        if self._error is not None:
            return
        try:
            self._block(p.contents)
        except BaseException as exc:
            self._error = exc

    def _block(self, b: Any) -> None:
        from theraloop.links.afe import FLAG_SATURATED
        from theraloop.therapy.codes import Fault

        n = b.channels * b.samples_per_channel
        samples = np.ctypeslib.as_array(b.samples, shape=(n,)).reshape(-1, b.channels).copy()
        if b.missing_before or (b.discontinuity and self.steps > 0):
            self._pending_faults |= int(Fault.DROPOUT)
        if b.flags & FLAG_SATURATED:
            self._pending_faults |= int(Fault.SATURATION)
        run = self.features.run(samples)
        for row in run.values:
            self._control_step(row)

    def _control_step(self, features: np.ndarray) -> None:
        nat = self._native
        lib = nat.lib()
        self.steps += 1
        now = self._now_ms()
        inp = nat.TherapyInput()
        inp.now_ms = now & 0xFFFFFFFF
        score = int(features[self._score_index]) >> self._score_shift
        inp.score = max(-(2**31), min(2**31 - 1, score))
        inp.score_valid = 1
        k = min(len(features), nat.TELEMETRY_FEATURES)
        inp.n_features = k
        for i in range(k):
            inp.features[i] = int(features[i])
        inp.faults = self._pending_faults | lib.tl_stim_monitor_faults(self._monitor, now)
        self._pending_faults = 0
        out = nat.SupervisorOutput()
        lib.tl_therapy_step(self.therapy._obj, ctypes.byref(inp), ctypes.byref(out))
        buf = ctypes.create_string_buffer(stim_link.MAX_FRAME)
        n = lib.tl_stim_encode_set(ctypes.byref(out.stim), self._seq, buf, len(buf))
        if n == 0:
            raise RuntimeError("tl_stim_encode_set failed")
        self._out += buf.raw[:n]
        lib.tl_stim_monitor_sent(self._monitor, self._seq, now)
        self._seq = (self._seq + 1) & 0xFFFF

    # --- Endpoint ---------------------------------------------------------------------

    def send_afe(self, data: bytes) -> None:
        self._lib.tl_afe_rx_feed(self._rx, data, len(data))
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def send_stim(self, data: bytes) -> None:
        nat = self._native
        lib = nat.lib()
        frame = nat.StimFrame()
        for byte in data:
            if not lib.tl_stim_parser_feed(ctypes.byref(self._parser), byte, ctypes.byref(frame)):
                continue
            st = nat.StimStatusFrame()
            if lib.tl_stim_decode_status(ctypes.byref(frame), ctypes.byref(st)):
                self.statuses += 1
                lib.tl_stim_monitor_status(self._monitor, ctypes.byref(st), self._now_ms())

    def recv_stim(self, timeout_s: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SilLoopEndpoint:
    """The firmware's control loop in process (:class:`theraloop.loop.sil.SilLoop`, the
    same C code as the device on the SIL library's virtual clock): AFE bytes go through
    ``feed_bytes``, STATUS bytes through ``stim_input``. The loop's per-step records
    (``theraloop.loop._native.STEP_DTYPE``: score, state, faults, cycles) accumulate in
    :attr:`steps`. Virtual uptime does not advance, so the loop's dropout timer never runs
    silence steps: the session is a pure function of the bytes."""

    synchronous = True

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self._out = bytearray()
        self._steps: list[np.ndarray] = []

    @classmethod
    def create(cls, settings: dict[str, int | str] | None = None, *, start: bool = True) -> Self:
        """A new SilLoop configured with `settings` (``theraloop config set`` names),
        therapy started; the boot and command frames are discarded."""
        from theraloop.loop.sil import SilLoop

        loop = SilLoop()
        if settings:
            loop.configure(settings)
        if start:
            result = loop.command("start")
            if result != 0:
                raise ValueError(f"the loop refused to start therapy: {result!r}")
        loop.drain()
        return cls(loop)

    def _take(self, run: Any) -> None:
        self._out += run.stim
        if len(run.steps):
            self._steps.append(run.steps)

    @property
    def steps(self) -> np.ndarray:
        """The loop's records of every step so far."""
        if not self._steps:
            from theraloop.loop._native import STEP_DTYPE

            return np.zeros(0, dtype=STEP_DTYPE)
        if len(self._steps) > 1:
            self._steps = [np.concatenate(self._steps)]
        return self._steps[0]

    def send_afe(self, data: bytes) -> None:
        self._take(self.loop.feed_bytes(data))

    def send_stim(self, data: bytes) -> None:
        self._take(self.loop.stim_input(data))

    def recv_stim(self, timeout_s: float) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the session ---------------------------------------------------------------------------


@dataclass
class SessionResult:
    """Everything a session produced (for plots, summaries, comparisons)."""

    records: np.ndarray
    samples: np.ndarray
    """(n, channels) int16: the ADC output of the whole session (sent or not)."""
    afe_bytes: bytes
    stim_bytes: bytes
    """What the device wrote on its stimulator link."""
    status_bytes: bytes
    """What the stimulator wrote back."""
    pre_session_bytes: bytes
    """What the device wrote before the first step (not in the records or the digest)."""
    commands: list[tuple[int, stim_link.StimCommand | None]]
    """(step, command) for every STIM_SET received (None: refused)."""
    truth: dict[str, Any]
    stimulator: dict[str, float]
    afe_stats: dict[str, int]
    """The device receiver's counters for the bytes sent (reference decoder)."""
    config: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        """SHA-256 over the records and both byte streams: equal digests, equal runs."""
        h = hashlib.sha256()
        for part in (
            self.records.tobytes(),
            self.samples.tobytes(),
            self.afe_bytes,
            self.stim_bytes,
            self.status_bytes,
        ):
            h.update(len(part).to_bytes(8, "little"))
            h.update(part)
        return h.hexdigest()

    def save(self, path: Path) -> None:
        """An .npz with the records, samples and streams (metadata as JSON text)."""
        import json

        np.savez_compressed(
            path,
            records=self.records,
            samples=self.samples,
            afe_bytes=np.frombuffer(self.afe_bytes, dtype=np.uint8),
            stim_bytes=np.frombuffer(self.stim_bytes, dtype=np.uint8),
            status_bytes=np.frombuffer(self.status_bytes, dtype=np.uint8),
            pre_session_bytes=np.frombuffer(self.pre_session_bytes, dtype=np.uint8),
            meta=np.array(
                json.dumps(
                    {
                        "truth": self.truth,
                        "stimulator": self.stimulator,
                        "afe_stats": self.afe_stats,
                        "config": self.config,
                    },
                    default=str,
                )
            ),
        )


class LockstepSession:
    """Drives one endpoint with one patient, step by step (see the module docstring)."""

    def __init__(
        self,
        endpoint: Endpoint,
        patient: Patient,
        *,
        hop_samples: int | None = None,
        block_samples: int | None = None,
        seed: int = 0,
        faults: FaultSchedule | None = None,
        artifact: StimArtifact | bool = True,
        stimulator: Stimulator | None = None,
        step_timeout_s: float = 5.0,
        clock: DeviceClock = DeviceClock.RECEIVED,
        start_seq: int = 0,
        settle_s: float = 0.2,
    ) -> None:
        rate = patient.rate_hz
        self.hop = hop_samples if hop_samples is not None else rate // 50
        if self.hop <= 0:
            raise ValueError("hop_samples must be > 0")
        block = block_samples if block_samples is not None else min(self.hop, 255)
        self.endpoint = endpoint
        self.patient = patient
        if faults is None:
            faults = stimulator.faults if stimulator is not None else FaultSchedule()
        self.faults = faults
        """One schedule for both sides: the AFE's and the stimulator's faults."""
        if artifact is True:
            artifact = StimArtifact()
        ss = np.random.SeedSequence(seed)
        self.seed = seed
        self.afe = VirtualAfe(
            rate,
            channels=patient.channels,
            block_samples=block,
            start_seq=start_seq,
            faults=self.faults,
            artifact=artifact or None,
            seed=ss.spawn(1)[0],
        )
        self.stimulator = stimulator if stimulator is not None else Stimulator()
        self.stimulator.faults = self.faults
        self.step_timeout_s = step_timeout_s
        self.counter = StepCounter(rate, patient.channels, self.hop, clock)
        self.clock = clock
        self._rows: list[tuple[Any, ...]] = []
        self._samples: list[np.ndarray] = []
        self._afe = bytearray()
        self._stim = bytearray()
        self._status = bytearray()
        self._commands: list[tuple[int, stim_link.StimCommand | None]] = []
        self._last = stim_link.StimCommand(0, False, 0, 0, 0)
        self._step = 0
        self._pre = bytearray()
        self._settled = False
        self.settle_s = settle_s

    @property
    def steps_done(self) -> int:
        return self._step

    @property
    def time_s(self) -> float:
        return self.patient.time_s

    def inject(self, kind: FaultKind | str, duration_s: float, level: float | None = None) -> Fault:
        """Start a fault now (it applies from the next step)."""
        return self.faults.add(Fault(FaultKind(kind), self.time_s, duration_s, level))

    def settle(self) -> bytes:
        """Apply what the device sent before the session (boot frame, command frames):
        read until the link has been quiet for `settle_s` (at once for in-process
        endpoints). Called by the first step; returns those bytes."""
        if self._settled:
            return b""
        self._settled = True
        sync = bool(getattr(self.endpoint, "synchronous", False))
        got = bytearray()
        while data := self.endpoint.recv_stim(0.0 if sync else self.settle_s):
            got += data
        for cmd in self.stimulator.receive(bytes(got), self.time_s):
            if cmd is not None:
                self._last = cmd
        acks = self.stimulator.respond(self.time_s)
        if acks:  # a real stimulator acknowledges these too (kept out of the records)
            self.endpoint.send_stim(acks)
        self._pre += got
        return bytes(got)

    def step(self) -> np.void:
        """One control step; returns its record."""
        self.settle()
        k = self._step
        applied = self.stimulator.state
        hop = self.patient.step(self.hop, applied)
        out: AfeHop = self.afe.convert(hop.samples, applied)
        t_end = self.patient.time_s
        self.endpoint.send_afe(out.data)
        self._afe += out.data
        self._samples.append(out.samples)
        expected = self.counter.feed(out.data)
        self.stimulator.deliver(self.hop / self.patient.rate_hz)
        frames, refused = self._collect(k, expected, t_end)
        status = self.stimulator.respond(t_end)
        if status:
            self.endpoint.send_stim(status)
            self._status += status
        last_status = self.stimulator.last_status
        status_code = NO_STATUS if last_status is None else last_status
        x = out.samples[:, 0].astype(np.float64)
        last = self._last
        row = (
            k,
            t_end,
            int(out.samples[:, 0].min()),
            int(out.samples[:, 0].max()),
            float(np.sqrt(np.mean(x * x))),
            hop.biomarker,
            hop.symptom,
            int(hop.ictal),
            out.faults | self.stimulator.link_faults(t_end),
            sum(1 for b in out.blocks if b.copies),
            len(out.data),
            out.clipped,
            self.counter.steps,
            expected,
            frames,
            refused,
            last.seq,
            int(last.enabled),
            last.amplitude_ua,
            last.pulse_width_us,
            last.rate_dhz,
            applied.amplitude_ua if applied.active else 0,
            status_code,
        )
        self._rows.append(row)
        self._step += 1
        return np.array([row], dtype=RECORD_DTYPE)[0]

    def _collect(self, step: int, expected: int, t_end: float) -> tuple[int, int]:
        """Read until the step's `expected` STIM_SET frames arrived, then take what else
        is already there. Returns (frames, refused)."""
        counts = [0, 0]

        def take(data: bytes) -> None:
            self._stim += data
            for cmd in self.stimulator.receive(data, t_end):
                counts[0] += 1
                self._commands.append((step, cmd))
                if cmd is None:
                    counts[1] += 1
                else:
                    self._last = cmd

        sync = bool(getattr(self.endpoint, "synchronous", False))
        deadline = time.monotonic() + self.step_timeout_s
        while counts[0] < expected:
            remaining = deadline - time.monotonic()
            data = self.endpoint.recv_stim(0.0 if sync else max(0.0, remaining))
            if data:
                take(data)
            elif sync or remaining <= 0:
                raise LockstepError(
                    step,
                    f"expected {expected} STIM_SET frame(s) from the device, got {counts[0]}"
                    + ("" if sync else f" within {self.step_timeout_s:g} s")
                    + f" (device control steps predicted so far: {self.counter.steps})",
                )
        while data := self.endpoint.recv_stim(0.0):
            take(data)
        return counts[0], counts[1]

    def run(
        self,
        steps: int | None = None,
        *,
        seconds: float | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> SessionResult:
        """Run `steps` steps (or `seconds` of patient time); `progress(done, total)` is
        called after each step."""
        if (steps is None) == (seconds is None):
            raise ValueError("give steps or seconds")
        total = steps if steps is not None else round(seconds * self.patient.rate_hz / self.hop)
        for i in range(total):
            self.step()
            if progress is not None:
                progress(i + 1, total)
        return self.result()

    def result(self) -> SessionResult:
        """Everything so far."""
        records = np.array(self._rows, dtype=RECORD_DTYPE)
        ch = self.patient.channels
        samples = np.concatenate(self._samples) if self._samples else np.zeros((0, ch), "<i2")
        return SessionResult(
            records=records,
            samples=samples,
            afe_bytes=bytes(self._afe),
            stim_bytes=bytes(self._stim),
            status_bytes=bytes(self._status),
            pre_session_bytes=bytes(self._pre),
            commands=list(self._commands),
            truth=self.patient.truth(),
            stimulator=asdict(self.stimulator.stats),
            afe_stats=self.counter.decoder.stats.as_dict(),
            config={
                "rate_hz": self.patient.rate_hz,
                "channels": ch,
                "hop_samples": self.hop,
                "block_samples": self.afe.block_samples,
                "seed": self.seed,
                "faults": self.faults.spec(),
                "clock": str(self.clock),
                "ack": self.stimulator.ack,
                "artifact": None if self.afe.artifact is None else asdict(self.afe.artifact.params),
            },
        )
