"""The Robot Framework keywords of the Renode suite (sim/renode/), run against QEMU.

Renode itself is not installable here, so CI cannot run sim/renode/theraloop.robot; this
test at least drives the suite's keyword library against the same firmware over the same
kind of TCP serial link, so the keywords the suite relies on are known to work.
"""

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]


def _keywords() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "theraloop_keywords", ROOT / "sim/renode/theraloop_keywords.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_keywords_info_echo_and_reset(fresh_qemu_device) -> None:
    kw = _keywords()
    port = _port(fresh_qemu_device.cli_url)
    info = kw.device_info(port)
    assert info["board"] == "stm32f4"
    assert info["reset_reason"] == "power_on"
    text = "theraloop-" * 102 + "abcd"
    assert kw.device_echo(port, text) == text
    assert kw.reset_device_and_wait(port)["reset_reason"] == "software"


def test_keyword_closed_loop_session(fresh_qemu_device) -> None:
    kw = _keywords()
    d = fresh_qemu_device
    run = kw.run_closed_loop_session(_port(d.cli_url), _port(d.afe_url), _port(d.stim_url), 4.0)
    assert run["steps"] == 200  # 4 s of 1000 Hz samples in 20 ms hops
    assert 0 < run["max_applied_ua"] <= run["amplitude_max_ua"]


def test_renode_files_reference_each_other() -> None:
    resc = (ROOT / "sim/renode/theraloop.resc").read_text()
    robot = (ROOT / "sim/renode/theraloop.robot").read_text()
    repl = (ROOT / "sim/renode/stm32f4_theraloop.repl").read_text()
    assert "$ORIGIN/stm32f4_theraloop.repl" in resc
    assert "theraloop.resc" in robot and "theraloop_keywords.py" in robot
    # offline: no SVD or other download in the platform description
    assert "http" not in repl and "ApplySVD" not in repl
    for usart in ("usart1", "usart2", "usart3"):
        assert f"connector Connect sysbus.{usart}" in resc
        assert f"{usart}: UART.STM32_UART" in repl
    assert 'CreateServerSocketTerminal $cli_port "cli" false' in resc


def test_renode_flash_matches_the_qemu_flash_image() -> None:
    """Renode programs the flash as the QEMU runner does: bootloader + signed application."""
    from theraloop.sim import flash_image

    resc = (ROOT / "sim/renode/theraloop.resc").read_text()
    primary = flash_image.FLASH_BASE + flash_image.FW_PRIMARY_OFFSET
    assert f"sysbus LoadBinary $image {primary:#010x}" in resc
    assert "theraloop.signed.bin" in resc
    assert "firmware/bootloader/stm32f4/theraloop_bootloader.elf" in resc
    assert "sysbus LoadELF $bootloader" in resc
