"""Therapy configuration through the firmware's own validation (SIL library): defaults,
refusals with reasons, atomic updates, the docs table, and -- property-based over the
whole configuration space -- that nothing above the charge-density limit is ever accepted.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from theraloop.therapy import ConfigRejected, TherapyConfig, fields
from theraloop.therapy.codes import ConfigError, Policy
from theraloop.therapy.config import density_uc_cm2, markdown_table, shannon_k

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_safe_and_report_the_worst_case() -> None:
    check = TherapyConfig().check()
    assert check.ok and check.why == "ok"
    # 3 mA x 120 us on 6 mm2
    assert check.worst_charge_nc == 360.0
    assert check.worst_density_uc_cm2 == 6.0
    assert check.worst_shannon_k == pytest.approx(math.log10(0.36) + math.log10(6.0), abs=0.0015)


def test_every_policy_default_is_valid() -> None:
    for p in Policy:
        cfg = TherapyConfig({"policy": p.name.lower()})
        assert cfg.get("policy") == p.name.lower()
        assert cfg.check().ok


def test_refusal_names_the_field_and_the_numbers() -> None:
    cfg = TherapyConfig()
    with pytest.raises(ConfigRejected) as exc:
        cfg.update({"pulse_width_max_us": 450, "amplitude_max_ua": 10000, "charge_max_nc": 25500})
    check = exc.value.check
    assert check.error == ConfigError.CHARGE_DENSITY
    assert check.field == "amplitude_max_ua"
    assert check.why == (
        "amplitude_max_ua above the charge-density limit at pulse_width_max_us 450: "
        "75.00 uC/cm2/phase > 30.00"
    )
    assert cfg == TherapyConfig()  # nothing changed


def test_set_is_atomic_and_batch_is_all_or_nothing() -> None:
    cfg = TherapyConfig()
    cfg.set("amplitude_max_ua", 2500)
    assert cfg["amplitude_max_ua"] == 2500
    before = cfg.to_bytes()
    with pytest.raises(ConfigRejected, match="charge-per-phase"):
        cfg.set("pulse_width_max_us", 1000)
    with pytest.raises(ConfigRejected, match="unknown field nope"):
        cfg.set("nope", 1)
    with pytest.raises(ConfigRejected, match="not one of open_loop, adaptive, responsive"):
        cfg.set("policy", "closed")
    assert cfg.to_bytes() == before
    # the same change is accepted when made together with what makes it safe
    with cfg.batch() as b:
        b["pulse_width_max_us"] = 1000
        b["amplitude_max_ua"] = 300
        b["open_loop_amplitude_ua"] = 300
        b["suspend_amplitude_ua"] = 300
    assert cfg["pulse_width_max_us"] == 1000


def test_field_table_matches_docs() -> None:
    docs = (ROOT / "docs/therapy.md").read_text()
    assert markdown_table() in docs, "regenerate the table in docs/therapy.md"


def test_field_names_are_unique_and_defaults_in_range() -> None:
    names = [f.name for f in fields()]
    assert len(names) == len(set(names)) == 44
    for f in fields():
        assert f.min <= f.default <= f.max
        if f.choices:
            assert f.max == len(f.choices) - 1


# --- the whole configuration space --------------------------------------------------


def _worst_case_ok(values: dict[str, int]) -> bool:
    """Independent statement (floating point, from the physics) of the safety rules."""
    amp, pw, area = (
        values["amplitude_max_ua"],
        values["pulse_width_max_us"],
        values["electrode_area_um2"],
    )
    q_uc = amp * pw * 1e-6
    d = q_uc / (area * 1e-8)
    ceiling = min(values["charge_density_max_cuc_cm2"] / 100.0, 30.0)
    if d > ceiling * (1 + 1e-12):
        return False
    if q_uc * 1000 > values["charge_max_nc"] * (1 + 1e-12):
        return False
    k_max = values["shannon_k_max_milli"] / 1000 + 0.0011  # firmware rounds k to 0.001
    return not (q_uc > 0 and math.log10(q_uc) + math.log10(d) > k_max)


@st.composite
def configs(draw: st.DrawFn) -> dict[str, int]:
    """Configurations around the safety boundary: hard limits in order, programmed values
    inside them, worst cases on both sides of the ceilings; sometimes one arbitrary value
    (out of range, out of order) anywhere."""
    values = {f.name: f.default for f in fields()}
    values["electrode_area_um2"] = draw(st.integers(10_000, 20_000_000))
    values["charge_density_max_cuc_cm2"] = draw(st.integers(1, 3000))
    values["charge_max_nc"] = draw(st.sampled_from([25500, draw(st.integers(1, 25500))]))
    values["shannon_k_max_milli"] = draw(st.sampled_from([1850, draw(st.integers(-3000, 1850))]))
    pw = sorted(draw(st.lists(st.integers(10, 1000), min_size=2, max_size=2)))
    values["pulse_width_min_us"], values["pulse_width_max_us"] = pw
    values["pulse_width_us"] = values["burst_pulse_width_us"] = draw(st.integers(*pw))
    values["rate_max_dhz"] = draw(st.integers(1, 10_000_000 // (2 * pw[1] + 1)))
    values["rate_min_dhz"] = values["rate_dhz"] = values["burst_rate_dhz"] = draw(
        st.integers(1, values["rate_max_dhz"])
    )
    values["interphase_gap_us"] = draw(st.sampled_from([0, draw(st.integers(0, 1000))]))
    # the amplitude ceiling: around the largest safe value for this electrode
    safe = values["charge_density_max_cuc_cm2"] * values["electrode_area_um2"] // (pw[1] * 10_000)
    values["amplitude_max_ua"] = draw(
        st.integers(min(max(0, safe - 3), 25500), min(25500, safe + 3)) | st.integers(0, 25500)
    )
    values["amplitude_min_ua"] = 0
    amp = draw(st.integers(0, values["amplitude_max_ua"]))
    for name in (
        "open_loop_amplitude_ua",
        "suspend_amplitude_ua",
        "adaptive_amplitude_lower_ua",
        "adaptive_amplitude_upper_ua",
        "burst_amplitude_ua",
    ):
        values[name] = amp
    values["slew_max_ua_per_s"] = 1_000_000
    values["policy"] = draw(st.integers(0, 2))
    if draw(st.integers(0, 9)) == 0:
        f = draw(st.sampled_from(fields()))
        values[f.name] = draw(st.integers(f.min - 1000, f.max + 1000))
    return values


def _raw_config(values: dict[str, int]) -> TherapyConfig:
    """Write the values straight into the struct (32-bit wrap), bypassing per-field checks."""
    blob = b"".join(
        struct.pack("<i", ((values[f.name] + 2**31) % 2**32) - 2**31)
        if f.signed
        else struct.pack("<I", values[f.name] & 0xFFFFFFFF)
        for f in fields()
    )
    return TherapyConfig.from_bytes(blob)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_no_configuration_above_the_charge_density_limit_is_accepted(
    values: dict[str, int],
) -> None:
    cfg = _raw_config(values)
    check = cfg.check()
    event(f"validation: {check.error.name}")
    if check.ok:
        stored = {f.name: cfg[f.name] for f in fields()}
        assert _worst_case_ok(stored), (stored, check)
        # and every setting the hard limits allow is within the ceiling
        assert density_uc_cm2(
            stored["amplitude_max_ua"], stored["pulse_width_max_us"], stored["electrode_area_um2"]
        ) <= min(stored["charge_density_max_cuc_cm2"] / 100.0, 30.0)
    else:
        assert check.why and check.why != "ok"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([f.name for f in fields()]), st.integers(-(2**33), 2**33)),
        max_size=40,
    )
)
def test_set_operations_never_leave_an_unsafe_configuration(ops: list[tuple[str, int]]) -> None:
    cfg = TherapyConfig()
    for name, value in ops:
        before = cfg.to_bytes()
        try:
            cfg.set(name, value)
        except ConfigRejected:
            assert cfg.to_bytes() == before
        assert cfg.check().ok
        assert _worst_case_ok({f.name: cfg[f.name] for f in fields()})


def test_shannon_k_matches_the_formula() -> None:
    for amp, pw, area in [(3000, 60, 6_000_000), (12000, 160, 8_000_000), (500, 90, 40_000)]:
        q = amp * pw * 1e-6
        d = q / (area * 1e-8)
        assert shannon_k(amp, pw, area) == pytest.approx(math.log10(q) + math.log10(d), abs=0.0011)
    assert shannon_k(0, 60, 6_000_000) is None
