"""The stm32f4 board port's own self-test image, booted in QEMU.

The self-test firmware (firmware/boards/stm32f4/selftest/) exercises the parts of the
board port the management plane does not reach on its own: bulk traffic through the
USART rings, the SysTick rate, every fault kind, an unhandled interrupt, the stimulator
safe state and the semihosting exit code. The driver script reports each check; this
test runs it and fails with its output if any check fails.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]


def test_board_selftest_passes(firmware_elf: Path) -> None:
    selftest_elf = firmware_elf.with_name("theraloop_board_selftest.elf")
    assert selftest_elf.exists(), f"{selftest_elf} missing: run `make build`"
    script = ROOT / "firmware/boards/stm32f4/selftest/qemu_selftest.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--elf", str(selftest_elf)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS" in proc.stdout
