"""What a model costs on the device, and whether it meets the budget.

- **flash**: the ``.tflite`` file (the engine reads it in place; weights are never
  copied), and the constant tensor bytes inside it;
- **arena**: the exact bytes the engine's planner needs (host build of the engine);
- **MACs** per inference (the engine's count);
- **cycles per inference under the emulator**: from the device benchmark
  (``theraloop bench --model FILE --json``: the firmware in QEMU with ``-icount``, which
  counts instructions exactly; one instruction stands for one cycle) when that command
  exists and can run the firmware; otherwise ``None``, and the card says how to measure
  it. The benchmark also compares the device's output with tflite-micro.

CPU share per control step = cycles / (clock x step period).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from theraloop.engine import Engine
from theraloop.model.macs import model_macs
from theraloop.model.tflite_file import parse

BENCH_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Budget:
    """The device budget a shipped model must meet (from the recipe)."""

    flash_bytes: int = 32 * 1024
    arena_bytes: int = 16 * 1024
    cpu_fraction: float = 0.02
    clock_hz: float = 168e6

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Budget:
        return cls(
            flash_bytes=int(d.get("flash_bytes", cls.flash_bytes)),
            arena_bytes=int(d.get("arena_bytes", cls.arena_bytes)),
            cpu_fraction=float(d.get("cpu_fraction", cls.cpu_fraction)),
            clock_hz=float(d.get("clock_hz", cls.clock_hz)),
        )

    def cycles_per_step(self, step_s: float) -> float:
        """The cycle budget of one inference per control step of ``step_s`` seconds."""
        return self.cpu_fraction * self.clock_hz * step_s


def model_cost(model_bytes: bytes) -> dict[str, Any]:
    m = parse(model_bytes)
    return {
        "flash_bytes": len(model_bytes),
        "weights_bytes": m.weights_bytes,
        "arena_bytes": Engine.arena_required(model_bytes),
        "macs": model_macs(m),
        "ops": [op.op for op in m.operators],
    }


def bench_available() -> bool:
    """Whether the ``theraloop bench`` command exists in this installation."""
    from theraloop.cli import main

    commands = getattr(main, "commands", {})
    return "bench" in commands


def _executable() -> str | None:
    beside = Path(sys.executable).parent / "theraloop"
    if beside.is_file():
        return str(beside)
    return shutil.which("theraloop")


@dataclass(frozen=True)
class BenchResult:
    """The device benchmark's figures for one model (None where it could not run)."""

    cycles: int | None
    """Instructions per inference of the shipped firmware variant (DSP kernels when
    measured), counted exactly by QEMU -icount: the emulator's cycle figure."""
    by_variant: dict[str, float]
    matches_reference: dict[str, bool | None]
    """Device output vs tflite-micro on the benchmark's input, per variant."""
    source: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cycles_per_inference": self.cycles,
            "instructions_by_variant": self.by_variant,
            "device_output_matches_tflite_micro": self.matches_reference,
            "cycles_source": self.source,
        }


def parse_bench(data: dict[str, Any]) -> BenchResult:
    """Read ``theraloop bench --json`` output for its first (only) model."""
    models = data.get("models") or []
    if not models or not isinstance(models[0], dict):
        return BenchResult(None, {}, {}, "`theraloop bench --json` reported no model")
    m = models[0]
    instr = {
        str(k): float(v)
        for k, v in (m.get("instructions") or {}).items()
        if isinstance(v, int | float)
    }
    matches = {str(k): v for k, v in (m.get("output_matches_reference") or {}).items()}
    if not instr:
        return BenchResult(None, {}, matches, "`theraloop bench --json` printed no count")
    key = "dsp" if "dsp" in instr else sorted(instr)[0]
    machine = (data.get("method") or {}).get("machine", "QEMU")
    return BenchResult(
        round(instr[key]),
        instr,
        matches,
        f"theraloop bench ({machine}, -icount: instructions of tl_nn_invoke, {key} kernels)",
    )


def bench(model_path: Path) -> BenchResult:
    """Run ``theraloop bench --model FILE --json`` (QEMU) if it exists."""
    if not bench_available():
        return BenchResult(None, {}, {}, "`theraloop bench` is not available")
    exe = _executable()
    if exe is None:
        return BenchResult(None, {}, {}, "the `theraloop` executable is not found")
    cmd = [exe, "bench", "--model", str(model_path), "--json"]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return BenchResult(None, {}, {}, f"`theraloop bench` failed: {e}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return BenchResult(None, {}, {}, f"`theraloop bench` exited {done.returncode}: {last}")
    try:
        return parse_bench(json.loads(done.stdout))
    except (json.JSONDecodeError, AttributeError) as e:
        return BenchResult(None, {}, {}, f"`theraloop bench --json` output unreadable: {e}")


def budget_check(cost: dict[str, Any], budget: Budget, step_s: float) -> dict[str, Any]:
    """Each budget item: limit, value, ok (``None`` when the value is unknown)."""
    cycles = cost.get("cycles_per_inference")
    limit_cycles = budget.cycles_per_step(step_s)
    cpu = None if cycles is None else cycles / (budget.clock_hz * step_s)
    return {
        "flash": {
            "limit": budget.flash_bytes,
            "value": cost["flash_bytes"],
            "ok": cost["flash_bytes"] <= budget.flash_bytes,
        },
        "arena": {
            "limit": budget.arena_bytes,
            "value": cost["arena_bytes"],
            "ok": cost["arena_bytes"] <= budget.arena_bytes,
        },
        "cpu": {
            "limit": budget.cpu_fraction,
            "value": cpu,
            "limit_cycles": limit_cycles,
            "step_s": step_s,
            "clock_hz": budget.clock_hz,
            "ok": None if cpu is None else cpu <= budget.cpu_fraction,
        },
    }
