"""The device's control loop on the host (software in the loop), driven from Python.

    loop = SilLoop()
    loop.configure(policy="adaptive", model="beta_biomarker", adaptive_threshold_upper=16384)
    loop.command("start")
    run = loop.feed(samples)            # int16 (n,) or (n, channels), through the AFE link
    run.stim                            # the exact STIM_SET byte stream (USART3 on the device)
    run.steps                           # one numpy record per control step (STEP_DTYPE)

`SilLoop` wraps one `tl_loop_t` of libtheraloop_sil.so: the same C code as the firmware
(AFE link parser, features, model, policy, supervisor, stimulator frames), configured
with the same named settings as `theraloop config set` (loop/settings.h), on the SIL
library's virtual clock. Samples go through the real AFE frame parser: `feed` encodes them
as AFE frames (`feed_bytes` takes frames as they would arrive on USART2), so a SIL run and
the device given the same bytes produce the same stimulator bytes.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from theraloop import sil
from theraloop.errors import UsageError
from theraloop.loop import _native
from theraloop.loop.records import decode_events, decode_telemetry
from theraloop.therapy.codes import Command, CommandResult

STIM_CAPACITY: Final = 1 << 20
"""Stimulator bytes captured between drains."""
STEP_CAPACITY: Final = 1 << 15
"""Control steps captured between drains (feed() drains in chunks below this)."""

FEED_PIECE: Final = 64 * 1024
"""AFE bytes per piece in feed_bytes (at most ~1,300 steps: far below STEP_CAPACITY)."""

_SET_ERRORS: Final = {1: "unknown_key", 2: "bad_value", 3: "therapy", 4: "loop"}


class LoopConfigRejected(UsageError):
    """A configuration request the loop refused (nothing changed)."""

    def __init__(self, kind: str, cfg_err: str, why: str, field: str | None) -> None:
        self.kind = kind
        self.cfg_err = cfg_err
        self.why = why
        self.field = field
        super().__init__(f"configuration refused ({kind}: {cfg_err}): {why}")


@dataclass
class Run:
    """What the loop produced for some input: stimulator bytes and per-step records."""

    stim: bytes = b""
    steps: np.ndarray = field(default_factory=lambda: np.zeros(0, _native.STEP_DTYPE))

    def extend(self, other: Run) -> None:
        self.stim += other.stim
        self.steps = np.concatenate([self.steps, other.steps])

    @classmethod
    def join(cls, runs: list[Run]) -> Run:
        """One run from several, in order (one concatenation)."""
        if not runs:
            return cls()
        return cls(b"".join(r.stim for r in runs), np.concatenate([r.steps for r in runs]))


class SilLoop:
    """One control loop instance in the SIL library (see the module docstring)."""

    def __init__(self) -> None:
        self._lib = _native.lib()
        self._loop = ctypes.create_string_buffer(self._lib.tl_loop_size())
        self._stim_buf = (ctypes.c_uint8 * STIM_CAPACITY)()
        self._steps_buf = (_native.SilStep * STEP_CAPACITY)()
        self._cap = _native.Capture(
            stim=ctypes.cast(self._stim_buf, ctypes.POINTER(ctypes.c_uint8)),
            stim_cap=STIM_CAPACITY,
            steps=ctypes.cast(self._steps_buf, ctypes.POINTER(_native.SilStep)),
            steps_cap=STEP_CAPACITY,
        )
        self._seq = ctypes.c_uint16(0)
        self._lib.tl_sil_loop_init(self._loop, ctypes.byref(self._cap))
        self.boot = self.drain()
        """What the loop sent at init (the 'off' STIM_SET)."""

    # --- configuration -----------------------------------------------------------------

    @staticmethod
    def setting_names() -> list[str]:
        lib = _native.lib()
        return [lib.tl_settings_name(i).decode() for i in range(lib.tl_settings_count())]

    def configure(self, values: Mapping[str, int | str] | None = None, **kw: int | str) -> Run:
        """Apply settings atomically, as `theraloop config set` does; raises
        `LoopConfigRejected` (nothing changed) on refusal. Returns what the loop sent
        (a new output if a lowered limit cut it)."""
        items = dict(values or {})
        items.update(kw)
        arr = (_native.Setting * max(1, len(items)))()
        keep: list[bytes] = []
        for i, (name, value) in enumerate(items.items()):
            nb = name.encode()
            keep.append(nb)
            arr[i].name = ctypes.cast(ctypes.c_char_p(nb), ctypes.c_void_p)
            arr[i].name_len = len(nb)
            if isinstance(value, str):
                tb = value.encode()
                keep.append(tb)
                arr[i].is_text = 1
                arr[i].text = ctypes.cast(ctypes.c_char_p(tb), ctypes.c_void_p)
                arr[i].text_len = len(tb)
            else:
                arr[i].value = int(value)
        res = _native.SetResult()
        err = self._lib.tl_settings_apply(self._loop, arr, len(items), ctypes.byref(res))
        if err != 0:
            kind = _SET_ERRORS.get(err, str(err))
            if kind == "therapy":
                cfg = self._lib.tl_therapy_cfg_err_name(res.cfg_err).decode()
            elif kind == "loop":
                cfg = self._lib.tl_loop_cfg_err_name(res.cfg_err).decode()
            else:
                cfg = kind
            name = None
            if res.field >= 0:
                raw = self._lib.tl_settings_name(res.field)
                name = raw.decode() if raw else None
            raise LoopConfigRejected(kind, cfg, res.why.decode(errors="replace"), name)
        return self.drain()

    def get(self, name: str) -> int | str:
        """A setting's value (the choice name for enumerations)."""
        nb = name.encode()
        idx = self._lib.tl_settings_find(nb, len(nb))
        if idx < 0:
            raise KeyError(name)
        return self._get(idx)

    def _get(self, idx: int) -> int | str:
        value = ctypes.c_int64()
        choice = ctypes.c_char_p()
        self._lib.tl_settings_get(self._loop, idx, ctypes.byref(value), ctypes.byref(choice))
        return choice.value.decode() if choice.value is not None else int(value.value)

    def config(self) -> dict[str, int | str]:
        """Every setting, in the device's order (therapy fields, then loop fields)."""
        return {
            self._lib.tl_settings_name(i).decode(): self._get(i)
            for i in range(self._lib.tl_settings_count())
        }

    @staticmethod
    def load_ram_model(model: bytes | None) -> None:
        """Make `model` (a .tflite) the RAM model, as `nn upload` + `nn load` do on the
        device (shared by every SilLoop of the process); None removes it. Loops using
        model=ram re-bind before their next inference."""
        lib = _native.lib()
        data = model or b""
        st = lib.tl_sil_ram_model_load(data, len(data))
        if st != 0:
            raise UsageError(f"the inference engine refused the model (status {st})")

    # --- commands and input ----------------------------------------------------------------

    def command(self, cmd: str | Command) -> CommandResult:
        """start / stop / pause / resume; takes effect at once (the output is sent)."""
        c = Command[cmd.upper()] if isinstance(cmd, str) else Command(cmd)
        return CommandResult(self._lib.tl_loop_command(self._loop, int(c)))

    def feed(
        self,
        samples: np.ndarray,
        *,
        block: int = 20,
        flags: int = 0,
        rate_hz: int | None = None,
    ) -> Run:
        """Feed int16 samples ((n,) or (n, channels)) as AFE frames of `block` samples per
        channel (sequence numbers continue across calls). Returns what the loop produced."""
        s = np.asarray(samples)
        if s.ndim == 1:
            s = s[:, None]
        if s.dtype != np.int16:
            raise UsageError("samples must be int16 ADC counts")
        s = np.ascontiguousarray(s)
        channels = s.shape[1]
        rate = int(rate_hz if rate_hz is not None else self.get("afe_rate_hz"))
        hop = int(self.get("hop_samples"))
        chunk = max(block, (STEP_CAPACITY // 4) * hop // block * block)
        runs = []
        for start in range(0, s.shape[0], chunk):
            part = s[start : start + chunk]
            fed = self._lib.tl_sil_feed_samples(
                self._loop,
                part.ctypes.data,
                part.shape[0],
                channels,
                rate,
                block,
                ctypes.byref(self._seq),
                flags,
            )
            if fed == 0 and part.shape[0] > 0:
                raise UsageError(f"cannot encode blocks of {block} x {channels} samples")
            runs.append(self.drain())
        return Run.join(runs)

    def feed_bytes(self, data: bytes) -> Run:
        """Bytes as they arrive on the AFE link (frames, garbage, anything); any length
        (fed in pieces small enough for the capture buffers)."""
        runs = []
        for start in range(0, len(data), FEED_PIECE):
            part = data[start : start + FEED_PIECE]
            buf = (ctypes.c_uint8 * len(part)).from_buffer_copy(part)
            self._lib.tl_loop_afe_input(self._loop, buf, len(part))
            runs.append(self.drain())
        return Run.join(runs)

    def stim_input(self, data: bytes) -> Run:
        """Bytes from the stimulator (STATUS frames) on its link."""
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        self._lib.tl_loop_stim_input(self._loop, buf, len(data))
        return self.drain()

    def advance(self, ms: int) -> Run:
        """Let `ms` of (virtual) uptime pass, polling the loop every millisecond: silence
        on the AFE link becomes dropout steps after `dropout_ms`."""
        lib = sil.library()
        for _ in range(ms):
            lib.tl_host_advance_ms(1)
            self._lib.tl_loop_poll(self._loop)
        return self.drain()

    # --- state -----------------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        """The loop's clock (samples received / rate)."""
        return int(self._lib.tl_loop_now_ms(self._loop))

    @property
    def seq(self) -> int:
        """Sequence number of the next AFE frame feed() sends."""
        return int(self._seq.value)

    def counters(self) -> dict[str, int]:
        c = self._lib.tl_loop_counters(self._loop).contents
        return {name: int(getattr(c, name)) for name, _ in _native.Counters._fields_}

    def afe_stats(self) -> dict[str, int]:
        a = self._lib.tl_loop_afe_stats(self._loop).contents
        return {name: int(getattr(a, name)) for name, _ in _native.AfeStats._fields_}

    def timing(self) -> dict[str, dict[str, int]]:
        out = {}
        for i, name in enumerate(_native.STAGES):
            s = self._lib.tl_loop_stage(self._loop, i).contents
            mean = int(s.sum // s.count) if s.count else 0
            out[name] = {"min": s.min, "mean": mean, "max": s.max, "count": s.count}
        return out

    def model_state(self) -> tuple[str, int]:
        """("bound", 0) or why the model is not used (tl_model_err_t name, detail)."""
        detail = ctypes.c_uint32()
        err = self._lib.tl_sil_model_state(self._loop, ctypes.byref(detail))
        name = "bound" if err == 0 else self._lib.tl_model_err_name(err).decode()
        return name, int(detail.value)

    def faults(self) -> int:
        return int(self._lib.tl_loop_faults(self._loop))

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        """The event log from `since`, decoded as `theraloop log` shows it."""
        return decode_events(self._records(self._lib.tl_loop_event_log, "event", since))

    def telemetry(self, since: int = 0) -> list[dict[str, Any]]:
        return decode_telemetry(self._records(self._lib.tl_loop_telemetry, "telemetry", since))

    def _records(self, getter: Any, kind: str, since: int) -> bytes:
        tlib = self._lib
        ring = getter(self._loop)  # the event log / telemetry object
        out = bytearray()
        rec_t = (
            _native.therapy_native.Event
            if kind == "event"
            else (_native.therapy_native.TelemetryRecord)
        )
        pack = tlib.tl_mgmt_pack_event if kind == "event" else tlib.tl_mgmt_pack_telemetry
        read = tlib.tl_event_log_read if kind == "event" else tlib.tl_telemetry_read
        nxt = since
        while True:
            rec = rec_t()
            r = read(ring, nxt, ctypes.byref(rec), 1)
            if r.count == 0:
                break
            raw = (ctypes.c_uint8 * 52)()
            pack(ctypes.byref(rec), raw)
            out += bytes(raw)
            nxt = r.next_seq
        return bytes(out)

    def drain(self) -> Run:
        """Take what the loop produced since the last drain."""
        cap = self._cap
        if cap.overflow:
            raise RuntimeError(f"SIL capture overflowed by {cap.overflow}: feed smaller chunks")
        stim = ctypes.string_at(ctypes.addressof(self._stim_buf), cap.stim_len)
        raw = ctypes.string_at(
            ctypes.addressof(self._steps_buf), cap.steps_len * ctypes.sizeof(_native.SilStep)
        )
        steps = np.frombuffer(raw, dtype=_native.STEP_DTYPE).copy()
        cap.stim_len = 0
        cap.steps_len = 0
        return Run(stim, steps)
