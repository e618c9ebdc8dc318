"""`theraloop bench` end to end on the MLP benchmark model, both firmware variants.

Checks the output's shape, that its figures are consistent with each other and with the
host engine, and that the measurement method agrees with an exact instruction trace;
never how fast anything is (the figures are recorded in docs/engine.md, not asserted).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.engine import Engine

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "models/bench/mlp_16_32_16_3.tflite"


def _args(firmware_elf: Path) -> list[str]:
    args = ["bench", "--model", str(MLP), "--elf", str(firmware_elf)]
    portable = os.environ.get("THERALOOP_PORTABLE_ELF")
    if portable:
        args += ["--portable-elf", portable]
    return args


@pytest.fixture(scope="module")
def report(firmware_elf: Path) -> dict:
    result = CliRunner().invoke(main, ["--json", *_args(firmware_elf), "--cross-check"])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    return json.loads(result.stdout)


def test_method_and_calibration(report):
    assert report["method"]["icount_shift"] == 0
    assert report["method"]["tick_hz"] > 0
    assert set(report["variants"]) == {"dsp", "portable"}
    for key, v in report["variants"].items():
        assert v["dsp"] is (key == "dsp")
        cal = v["calibration"]
        assert cal["ok"] is True and report["targets"]["calibration"] is True
        assert cal["agreement_instructions"] <= 0.4
        # the loops are timed at exactly 2 instructions per iteration
        assert cal["slope_per_iteration"] == pytest.approx(2.0, abs=1e-3)
        assert cal["instructions_per_tick"] == pytest.approx(1e9 / report["method"]["tick_hz"])
        assert 0 <= cal["overhead_instructions"] < 50
        short, long = cal["loops"]
        assert (short["loop"], long["loop"]) == (1000, 20000)
        assert short["exact_insns"] == 2 * 1000 + 2


def test_model_figures_are_consistent(report):
    (row,) = report["models"]
    host = Engine(MLP.read_bytes())
    assert row["name"] == "mlp_16_32_16_3" and row["model_bytes"] == MLP.stat().st_size
    assert row["macs"] == host.macs and row["mac_bound"] == host.macs / 2
    assert row["arena_bytes"] == host.arena_bytes
    assert row["arena_bytes_by_variant"] == {"dsp": host.arena_bytes, "portable": host.arena_bytes}
    for key in ("dsp", "portable"):
        ins = row["instructions"][key]
        assert math.isfinite(ins) and ins > 0
        assert row["min_instructions"][key] <= ins <= row["max_instructions"][key]
        assert row["ratio_to_mac_bound"][key] == pytest.approx(ins / row["mac_bound"], rel=1e-3)
        assert row["runs"][key] >= 20
        assert row["interrupts_masked"][key] is True
        assert row["output_matches_reference"][key] is True  # device == tflite-micro
    tflm = row["tflm"]
    assert tflm["cmsis_nn_instructions"] == 8153 and tflm["reference_arena"] == 1560
    for key, ratio in row["ratio_to_tflm_cmsis_nn"].items():
        assert ratio == pytest.approx(row["instructions"][key] / 8153, rel=1e-3)
    assert set(row["targets_met"]) == {"instructions", "arena"}


def test_systick_figure_agrees_with_an_exact_trace(report):
    """The method check of issue 3: SysTick under -icount, calibrated, against exact
    instruction counts from a single-stepped execution trace, within 0.4 instructions."""
    (row,) = report["models"]
    assert report["targets"]["cross_check"] is True
    for key in ("dsp", "portable"):
        exact = row["trace_instructions"][key]
        assert isinstance(exact, int) and exact > 0
        assert abs(row["instructions"][key] - exact) <= 0.4
        split = row["trace_by_object"][key]
        assert sum(split.values()) == exact  # every traced instruction attributed
        assert next(iter(split)) == "op_fully_connected.c"  # an MLP is its dense layers
        # rounded to 0.1 and 0.01 in the report
        assert row["trace_difference"][key] == pytest.approx(
            row["instructions"][key] - exact, abs=0.06
        )


def test_size_figures(report):
    for v in report["variants"].values():
        e, fw = v["engine"], v["firmware"]
        assert e["flash_bytes"] == e["code_bytes"] + e["library_bytes"]
        assert e["code_bytes"] > 0 and e["smp_group_bytes"] > 0
        assert e["flash_bytes"] + e["smp_group_bytes"] < fw["flash_bytes"]
        assert fw["ram_bytes"] == sum(fw["ram_sections"].values())
        assert ".bss" in fw["ram_sections"]


def test_human_output(firmware_elf: Path):
    args = _args(firmware_elf)
    args[args.index("--elf") :] = [*args[args.index("--elf") :], "--variant", "dsp"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "instructions per inference" in out
    assert "mlp_16_32_16_3" in out and "TFLM+CMSIS-NN" in out
    assert "portable C" not in out.split("flash and RAM")[0]  # only the DSP variant ran
    assert "arena bytes" in out and "engine" in out
