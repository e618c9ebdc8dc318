"""Closed-loop sessions (theraloop.sim.session / summary / plots) against the firmware's
control loop in the SIL library, and `theraloop sim session` end to end; one QEMU run
checks that the device gives the SIL session's records and figures exactly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.patient import DataMissing
from theraloop.patient.data import load_bonn_set
from theraloop.sim.session import SessionSpec, device_settings, open_target, run_session
from theraloop.sim.summary import check_limits, fallback_lapses, format_summary, summarize


def _run(spec: SessionSpec):
    with open_target(spec) as target:
        return run_session(spec, target)


@pytest.fixture(scope="module")
def adaptive():
    return _run(SessionSpec(policy="adaptive", duration_s=30, seed=2, target="sil"))


def test_adaptive_session_follows_the_biomarker(adaptive) -> None:
    s = summarize(adaptive)
    rec = adaptive.result.records
    cfg = adaptive.config
    assert len(adaptive.trace.telemetry) == len(rec) == 1500
    assert adaptive.trace.lost_telemetry == 0
    # amplitude moves inside the policy's range and up when the device's score is high
    lo, hi = int(cfg["adaptive_amplitude_lower_ua"]), int(cfg["adaptive_amplitude_upper_ua"])
    tel = adaptive.telemetry_array()
    running = tel["mode"] == "policy"
    amp = tel["amplitude_ua"][running & (tel["policy_state"] != "adaptive_startup")]
    assert amp.min() >= lo - 1 and amp.max() <= hi
    assert amp.max() == hi and amp.min() == lo
    high = tel["policy_state"] == "adaptive_high"
    assert tel["amplitude_ua"][high].mean() > tel["amplitude_ua"][~high].mean() + 500
    # less beta than without stimulation, less energy than open loop at the upper amplitude
    assert 0.05 < s["beta"]["reduction"] < s["beta"]["open_loop_reduction"]
    assert 0 < s["energy"]["ratio"] < 0.7
    assert s["limit_violations"] == [] and s["fallback_lapses"] == []
    total = sum(s["time_in_state_s"]["therapy_state"].values())
    assert total == pytest.approx(30.0)
    assert s["model"]["hash8"] and len(s["model"]["hash8"]) == 16


def test_energy_is_the_stimulators_tally(adaptive) -> None:
    rec = adaptive.result.records
    amp = rec["applied_ua"] * 1e-6
    cfg = adaptive.config
    expect = np.sum(2 * amp**2 * 1000.0 * cfg["pulse_width_us"] * 1e-6 * cfg["rate_dhz"] / 10)
    assert summarize(adaptive)["energy"]["delivered_j"] == pytest.approx(expect * 0.02)


def test_same_seed_same_session() -> None:
    spec = SessionSpec(policy="adaptive", duration_s=6, seed=5, target="sil")
    a, b = _run(spec), _run(spec)
    assert a.result.digest() == b.result.digest()
    assert a.trace.telemetry == b.trace.telemetry
    c = _run(dataclasses.replace(spec, seed=6))
    assert c.result.digest() != a.result.digest()


def test_limit_checks_catch_violations(adaptive) -> None:
    """The checks the fault tests rely on fail when the limits are broken."""
    tighter = dict(adaptive.config)
    tighter["amplitude_max_ua"] = 2000
    tighter["slew_max_ua_per_s"] = 500
    tighter["rate_max_dhz"] = 1000
    bad = check_limits(dataclasses.replace(adaptive, config=tighter))
    assert any("amplitude 2" in b for b in bad)
    assert any("slew 500" in b for b in bad)
    assert any("rate 1300" in b for b in bad)
    tighter = dict(adaptive.config, charge_density_max_cuc_cm2=100)
    assert any(
        "charge density" in b for b in check_limits(dataclasses.replace(adaptive, config=tighter))
    )


def test_fallback_check_catches_a_lapse(adaptive) -> None:
    trace = dataclasses.replace(
        adaptive.trace, telemetry=[dict(r) for r in adaptive.trace.telemetry]
    )
    r = next(r for r in trace.telemetry[200:] if r["mode"] == "policy" and not r["faults"])
    r["faults"], r["fault_names"] = 1, ["saturation"]
    lapses = fallback_lapses(dataclasses.replace(adaptive, trace=trace))
    assert len(lapses) == 1 and "want fallback" in lapses[0]


def test_sensor_fault_falls_back_in_the_sil() -> None:
    out = _run(SessionSpec(duration_s=8, seed=1, target="sil", faults="saturation@4+0.5"))
    s = summarize(out)
    assert s["limit_violations"] == [] and s["fallback_lapses"] == []
    assert s["time_in_state_s"]["mode"]["fallback"] >= 0.5


def test_responsive_session_detects_the_seizures() -> None:
    try:
        load_bonn_set("E")
    except DataMissing as exc:
        pytest.skip(f"recordings not available: {exc}")
    out = _run(
        SessionSpec(
            policy="responsive", patient="bonn-replay", duration_s=120, seed=1, target="sil"
        )
    )
    s = summarize(out)
    z = s["seizures"]
    assert z["onsets_s"] and z["detected"] == len(z["onsets_s"])
    assert all(0 <= lat < 6 for lat in z["latencies_s"])
    assert s["energy"]["ratio"] < 0.2
    assert "seizures" in format_summary(s)


def test_settings_overrides_and_validation() -> None:
    spec = SessionSpec(policy="open-loop", target="sil", settings={"open_loop_amplitude_ua": 700})
    s = device_settings(spec)
    assert s["policy"] == "open_loop" and s["open_loop_amplitude_ua"] == 700
    assert s["dropout_ms"] == 0
    with pytest.raises(Exception, match="policy must be"):
        SessionSpec(policy="closed")


def test_sim_session_cli_writes_summary_and_plot(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        [
            "--json",
            "sim",
            "session",
            "--target",
            "sil",
            "--duration",
            "5",
            "--seed",
            "3",
            "--faults",
            "dropout@3+0.2",
            "--set",
            "adaptive_startup_ms=1000",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["faults"] == "dropout@3+0.2" and data["limit_violations"] == []
    png = tmp_path / "adaptive.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert json.loads((tmp_path / "summary.json").read_text())["control_steps"] == 250


@pytest.mark.qemu
def test_qemu_session_equals_the_sil_session(firmware_elf: Path) -> None:
    """The demo's adaptive session on the firmware in QEMU (-icount) is the SIL session:
    same records, same stimulator bytes, same device telemetry; plus real cycle counts."""
    spec = SessionSpec(duration_s=10, seed=4, target="sil")
    sil = _run(spec)
    qemu = _run(dataclasses.replace(spec, target="qemu", elf=firmware_elf))
    assert qemu.result.digest() == sil.result.digest()
    strip = ("seq",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in qemu.trace.telemetry] == [
        {k: v for k, v in r.items() if k not in strip} for r in sil.trace.telemetry
    ]
    c = summarize(qemu)["cycles_per_step"]
    assert 5_000 < c["instructions_per_step"]["mean"] < 200_000
    assert c["overruns"] == 0


def _demo(tmp_path: Path, *extra: str) -> dict:
    try:
        load_bonn_set("E")
    except DataMissing as exc:
        pytest.skip(f"recordings not available: {exc}")
    args = ["--json", "demo", "--adaptive-duration", "6", "--responsive-duration", "70"]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path), *extra])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data == json.loads((tmp_path / "summary.json").read_text())
    assert set(data["sessions"]) == {"adaptive", "responsive"}
    for name, s in data["sessions"].items():
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000
        assert s["limit_violations"] == [] and s["device_answering"]
    assert data["sessions"]["responsive"]["seizures"]["detected"] >= 1
    return data


def test_demo_on_the_sil(tmp_path: Path) -> None:
    data = _demo(tmp_path, "--target", "sil")
    assert data["sessions"]["adaptive"]["target"] == "sil"


@pytest.mark.qemu
def test_demo_on_qemu(tmp_path: Path, firmware_elf: Path) -> None:
    data = _demo(tmp_path, "--elf", str(firmware_elf))
    adaptive = data["sessions"]["adaptive"]
    assert adaptive["target"] == "qemu -icount"
    assert adaptive["cycles_per_step"]["instructions_per_step"]["mean"] > 5_000
    assert adaptive["model"]["name"] == "beta_biomarker" and adaptive["model"]["hash8"]
