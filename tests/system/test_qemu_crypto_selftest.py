"""The firmware's power-on crypto self-test, as built by the firmware compiler.

SHA-256, SHA-512 and Ed25519 verification run their known-answer tests at every boot; the
host tests use clang, so this is the check that arm-none-eabi-gcc's optimised build of the
same code computes the same answers (a strict-aliasing bug once broke exactly that)."""

import pytest

pytestmark = pytest.mark.qemu


def test_info_reports_the_crypto_selftest_passed(qemu_device) -> None:
    with qemu_device.device() as dev:
        info = dev.info().to_dict()
    assert info["crypto_selftest"] == "pass"
