"""Instructions per inference on the emulated Cortex-M4, calibrated.

Method (docs/engine.md, "Benchmark method"):

1. QEMU runs the firmware with `-icount shift=S,align=off,sleep=off`: every guest
   instruction advances virtual time by exactly 2^S ns, and SysTick counts virtual time
   at the core clock the firmware reports (`tick_hz`, 168 MHz). One tick is therefore
   1e9 / 2^S / tick_hz instructions (5.95 at S = 0).
2. The device's `bench` command times each run on its own between two reads of the
   SysTick counter, interrupts masked, and returns the sum over `n` runs. The same
   harness times a calibration loop whose instruction count the firmware knows exactly
   (2 per iteration + 2); both functions sit behind identical one-instruction
   trampolines. So
       harness overhead  = measured(loop) - exact(loop)          (a few instructions)
       per inference     = measured(model) - harness overhead
   Two loop lengths check the method: their overheads must agree (within 0.4
   instructions) and the measured slope must be exactly 2 instructions per iteration.
3. Runs are repeated so that the tick quantisation (5.95 instructions) averages out:
   the firmware waits a pseudo-random number of instructions before each run, so runs
   start at uniformly spread phases of the tick and the mean converges to the exact
   count (error about 5.95 / sqrt(12 n): 0.05 instructions for the 1,200 runs taken).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from theraloop.device import Device
from theraloop.errors import DeviceProtocolError, UsageError
from theraloop.model.device_engine import DeviceEngine
from theraloop.model.errors import ModelRejected
from theraloop.model.tflite_file import ModelFormatError, parse
from theraloop.sim.qemu import QemuRunner
from theraloop.tflite_reference import io_tensor

LOOP_SHORT: Final = 1_000
"""Iterations of the short calibration loop (2,002 instructions)."""
LOOP_LONG: Final = 20_000
"""Iterations of the long calibration loop (40,002 instructions)."""
TARGET_INSNS: Final = 20_000_000
"""Instructions to spend per measurement at least (QEMU runs ~100 M/s under -icount)."""
PRECISE_RUNS: Final = 1_200
"""Runs per measurement while they cost at most MAX_INSNS: each run starts at a random
phase of the tick, so the mean's error is about tick / sqrt(12 n), 0.05 instructions."""
MAX_INSNS: Final = 400_000_000
MIN_RUNS: Final = 20
MAX_RUNS: Final = 100_000
AGREEMENT_LIMIT: Final = 0.4
"""Largest disagreement (instructions) between the two calibrations the method accepts."""
_BOOT_TIMEOUT_S: Final = 10.0
_BENCH_TIMEOUT_S: Final = 120.0


@dataclass(frozen=True)
class LoopTiming:
    loop: int
    runs: int
    ticks: int
    exact_insns: int
    measured_insns: float  # per run

    @property
    def overhead(self) -> float:
        return self.measured_insns - self.exact_insns


@dataclass(frozen=True)
class Calibration:
    """What the two calibration loops say about the measurement."""

    tick_hz: int
    icount_shift: int
    insns_per_tick: float
    short: LoopTiming
    long: LoopTiming

    @property
    def overhead(self) -> float:
        """Harness instructions inside every measured run (mean of both loops)."""
        return (self.short.overhead + self.long.overhead) / 2

    @property
    def agreement(self) -> float:
        """Difference of the two loops' overheads, in instructions."""
        return abs(self.short.overhead - self.long.overhead)

    @property
    def slope(self) -> float:
        """Measured instructions per loop iteration (2 exactly if the method holds)."""
        d = self.long.measured_insns - self.short.measured_insns
        return d / (self.long.loop - self.short.loop)

    @property
    def ok(self) -> bool:
        return self.agreement <= AGREEMENT_LIMIT

    def to_json(self) -> dict[str, Any]:
        return {
            "tick_hz": self.tick_hz,
            "icount_shift": self.icount_shift,
            "instructions_per_tick": self.insns_per_tick,
            "overhead_instructions": round(self.overhead, 3),
            "agreement_instructions": round(self.agreement, 3),
            "slope_per_iteration": round(self.slope, 6),
            "ok": self.ok,
            "loops": [
                {**asdict(t), "measured_insns": round(t.measured_insns, 3)}
                for t in (self.short, self.long)
            ],
        }


@dataclass(frozen=True)
class ModelTiming:
    """One model on one firmware variant."""

    name: str
    file: str
    sha256: str
    model_bytes: int
    macs: int
    arena_bytes: int
    runs: int
    instructions: float  # per tl_nn_invoke, harness overhead removed
    min_instructions: float  # fastest run (tick-quantised)
    max_instructions: float  # slowest run (tick-quantised)
    interrupts_masked: bool
    output_matches_reference: bool | None  # device vs tflite-micro on the bench input

    @property
    def mac_bound(self) -> float:
        """MACs / 2: one dual multiply-accumulate (SMLAD) per instruction."""
        return self.macs / 2

    @property
    def ratio_to_mac_bound(self) -> float | None:
        return self.instructions / self.mac_bound if self.macs else None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["instructions"] = round(self.instructions, 1)
        out["min_instructions"] = round(self.min_instructions, 1)
        out["max_instructions"] = round(self.max_instructions, 1)
        out["mac_bound"] = self.mac_bound
        ratio = self.ratio_to_mac_bound
        out["ratio_to_mac_bound"] = round(ratio, 3) if ratio is not None else None
        return out


@dataclass(frozen=True)
class VariantResult:
    elf: str
    dsp: bool
    calibration: Calibration
    models: tuple[ModelTiming, ...]


def bench_inputs(data: bytes, seed: int = 0) -> list[np.ndarray]:
    """Deterministic inputs for a model file: uniform int8 (float: standard normal)."""
    try:
        model = parse(data)
    except ModelFormatError as e:
        raise ModelRejected(f"not a valid .tflite model: {e}") from e
    rng = np.random.default_rng(seed)
    out = []
    for position, t in enumerate(model.input_tensors):
        info = io_tensor(model, position, t)
        if info.dtype.kind == "f":
            out.append(rng.standard_normal(info.shape).astype(info.dtype))
        else:
            lim = np.iinfo(info.dtype)
            out.append(rng.integers(lim.min, lim.max + 1, info.shape).astype(info.dtype))
    return out


def runs_for(insns_per_run: float) -> int:
    """How many runs to time: PRECISE_RUNS, more if they are short (TARGET_INSNS), fewer
    if they are long (MAX_INSNS), within MIN_RUNS..MAX_RUNS."""
    per_run = max(insns_per_run, 1.0)
    runs = max(PRECISE_RUNS, int(TARGET_INSNS // per_run))
    runs = min(runs, int(MAX_INSNS // per_run))
    return int(min(MAX_RUNS, max(MIN_RUNS, runs)))


class Bench:
    """One firmware image booted in QEMU with -icount, measured through SMP."""

    def __init__(self, engine: DeviceEngine, icount_shift: int) -> None:
        self.engine = engine
        self.icount_shift = icount_shift
        self.calibration: Calibration | None = None

    def _insns_per_tick(self, tick_hz: int) -> float:
        if tick_hz <= 0:
            raise DeviceProtocolError(f"device reports a {tick_hz} Hz timer")
        return 1e9 / (2**self.icount_shift) / tick_hz

    def _loop(self, loop: int, runs: int) -> tuple[LoopTiming, int]:
        r = self.engine.bench(runs, loop=loop, timeout=_BENCH_TIMEOUT_S)
        if r.loop_insns is None:
            raise UsageError(
                f"the firmware's timer ({r.timer}) has no exact calibration loop; "
                "bench needs the Cortex-M firmware"
            )
        if not r.masked:
            raise DeviceProtocolError("calibration loop ran with interrupts enabled")
        per_run = r.ticks / r.n * self._insns_per_tick(r.tick_hz)
        return LoopTiming(loop, r.n, r.ticks, r.loop_insns, per_run), r.tick_hz

    def calibrate(self) -> Calibration:
        short_runs = runs_for(2 * LOOP_SHORT)
        long_runs = runs_for(2 * LOOP_LONG)
        short, hz = self._loop(LOOP_SHORT, short_runs)
        long, hz2 = self._loop(LOOP_LONG, long_runs)
        if hz != hz2:
            raise DeviceProtocolError(f"timer rate changed between runs ({hz} / {hz2} Hz)")
        self.calibration = Calibration(hz, self.icount_shift, self._insns_per_tick(hz), short, long)
        return self.calibration

    def model(self, path: Path, expected: list[np.ndarray] | None = None) -> ModelTiming:
        """Upload, load, compare one output with `expected`, then time the model."""
        cal = self.calibration or self.calibrate()
        data = path.read_bytes()
        model = self.engine.load_model(data)
        inputs = bench_inputs(data)
        matches = None
        if expected is not None:
            got = self.engine.invoke(*inputs)
            matches = len(got) == len(expected) and all(
                g.shape == w.shape and g.dtype == w.dtype and np.array_equal(g, w)
                for g, w in zip(got, expected, strict=False)
            )
        probe = self.engine.bench(3, inputs=inputs, timeout=_BENCH_TIMEOUT_S)
        runs = runs_for(probe.ticks / probe.n * cal.insns_per_tick)
        r = self.engine.bench(runs, inputs=inputs, timeout=_BENCH_TIMEOUT_S)
        ipt = self._insns_per_tick(r.tick_hz)
        return ModelTiming(
            name=path.stem,
            file=str(path),
            sha256=hashlib.sha256(data).hexdigest(),
            model_bytes=len(data),
            macs=model.macs,
            arena_bytes=model.arena_bytes,
            runs=r.n,
            instructions=r.ticks / r.n * ipt - cal.overhead,
            min_instructions=r.min * ipt - cal.overhead,
            max_instructions=r.max * ipt - cal.overhead,
            interrupts_masked=r.masked,
            output_matches_reference=matches,
        )


def run_variant(
    elf: Path,
    models: list[Path],
    *,
    timeout: float,
    expected: dict[Path, list[np.ndarray]] | None = None,
    step: Callable[[str], None] | None = None,
) -> VariantResult:
    """Boot `elf` in QEMU with -icount, calibrate, then measure every model.

    `expected`: reference outputs (tflite-micro) on `bench_inputs` of each model; the
    device's output on the same input is compared with them.
    """
    with QemuRunner(elf, icount=True) as qemu:
        dev = Device(qemu.cli_url, timeout=timeout)
        try:
            dev.wait_ready(_BOOT_TIMEOUT_S)
            dev.disconnect()
            dev.open()  # reads the device's SMP buffer size
            engine = DeviceEngine(dev)
            state = engine.state()
            bench = Bench(engine, qemu.settings.icount_shift)
            if step is not None:
                step(f"{elf.name}: calibration")
            cal = bench.calibrate()
            results = []
            for path in models:
                if step is not None:
                    step(f"{elf.name}: {path.name}")
                want = expected.get(path) if expected is not None else None
                results.append(bench.model(path, want))
        finally:
            dev.close()
        qemu.check_running()
    return VariantResult(str(elf), state.dsp, cal, tuple(results))
