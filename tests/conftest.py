"""Shared pytest fixtures: the firmware image, QEMU devices and the host-port device.

- `firmware_elf`: $THERALOOP_ELF, else build/stm32f4/firmware/boards/stm32f4/theraloop.elf.
  Missing image = test failure (not a skip), so CI cannot pass without the firmware.
- `qemu_device` (module-scoped) / `fresh_qemu_device` (function-scoped, for tests that
  reset or crash the device) / `qemu_pty_device` (CLI USART on a pty): the firmware
  booted in QEMU by the same runner `theraloop sim serve` uses, already answering SMP.
- `host_device` (module-scoped) / `fresh_host_device` (function-scoped):
  `theraloop-host --pty` from $THERALOOP_HOST_BUILD (default build/host).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from theraloop.device import Device
from theraloop.mgmt import InfoReadResponse
from theraloop.sim.qemu import QemuRunner

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ELF = ROOT / "build/stm32f4/firmware/boards/stm32f4/theraloop.elf"
DEFAULT_HOST_BUILD = ROOT / "build/host"
HOST_BINARY = Path("firmware/boards/host/theraloop-host")
BOOT_TIMEOUT_S = 10.0


@pytest.fixture(scope="session")
def firmware_elf() -> Path:
    elf = Path(os.environ.get("THERALOOP_ELF", DEFAULT_ELF))
    if not elf.is_file():
        pytest.fail(
            f"firmware image {elf} not found: run `make build` first "
            "(or point THERALOOP_ELF at a theraloop.elf)",
            pytrace=False,
        )
    return elf


@dataclass
class QemuDevice:
    """The firmware running in QEMU, booted and answering SMP on `cli_url`."""

    runner: QemuRunner
    boot_info: InfoReadResponse

    @property
    def cli_url(self) -> str:
        return self.runner.cli_url

    @property
    def afe_url(self) -> str:
        return self.runner.afe_url

    @property
    def stim_url(self) -> str:
        return self.runner.stim_url

    @property
    def pid(self) -> int:
        return self.runner.pid

    def device(self, timeout: float = 2.0) -> Device:
        """A new, opened `Device` on the CLI port (close it, or use `with`)."""
        dev = Device(self.cli_url, timeout=timeout)
        dev.open()
        return dev


def _boot(elf: Path, **kwargs: bool) -> Iterator[QemuDevice]:
    runner = QemuRunner(elf, **kwargs)
    runner.start()
    try:
        dev = Device(runner.cli_url, timeout=2.0)
        try:
            boot_info = dev.wait_ready(BOOT_TIMEOUT_S)
        except Exception as exc:
            raise RuntimeError(f"firmware did not answer in QEMU: {runner.output()}") from exc
        finally:
            dev.close()
        yield QemuDevice(runner, boot_info)
        runner.check_running()
    finally:
        runner.stop()


@pytest.fixture(scope="module")
def qemu_device(firmware_elf: Path) -> Iterator[QemuDevice]:
    """One QEMU per test module: for tests that leave the device running as it was."""
    yield from _boot(firmware_elf)


@pytest.fixture
def fresh_qemu_device(firmware_elf: Path) -> Iterator[QemuDevice]:
    """A QEMU of its own per test: for tests that reset or crash the device."""
    yield from _boot(firmware_elf)


@pytest.fixture(scope="module")
def qemu_pty_device(firmware_elf: Path) -> Iterator[QemuDevice]:
    """QEMU with the CLI USART on a pty (`cli_url` is a /dev/pts path)."""
    yield from _boot(firmware_elf, cli_pty=True)


@dataclass
class HostDevice:
    """`theraloop-host --pty`: the portable core on the PC, serving SMP on `port`."""

    proc: subprocess.Popen[bytes]
    port: str
    output: list[str] = field(default_factory=list)

    def device(self, timeout: float = 2.0) -> Device:
        dev = Device(self.port, timeout=timeout)
        dev.open()
        return dev


def _host_binary() -> Path:
    build = Path(os.environ.get("THERALOOP_HOST_BUILD", DEFAULT_HOST_BUILD))
    binary = build / HOST_BINARY
    if not binary.is_file():
        pytest.fail(
            f"{binary} not found: run `make build` first "
            "(or point THERALOOP_HOST_BUILD at a host build tree)",
            pytrace=False,
        )
    return binary


def _read_line(proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            break
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                break
            line += chunk
    return line


def _run_host() -> Iterator[HostDevice]:
    proc = subprocess.Popen(
        [str(_host_binary()), "--pty"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
    )
    try:
        line = _read_line(proc, 10.0)
        try:
            port = json.loads(line)["pty"]
        except (ValueError, KeyError, TypeError):
            pytest.fail(f'theraloop-host --pty printed {line!r}, not {{"pty": PATH}}')
        host = HostDevice(proc, port)
        drain = threading.Thread(target=_drain, args=(proc, host.output), daemon=True)
        drain.start()
        yield host
        assert proc.poll() is None, f"theraloop-host exited with status {proc.returncode}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def host_device() -> Iterator[HostDevice]:
    """One theraloop-host per test module."""
    yield from _run_host()


@pytest.fixture
def fresh_host_device() -> Iterator[HostDevice]:
    """A theraloop-host of its own: for tests that reset it."""
    yield from _run_host()


def _drain(proc: subprocess.Popen[bytes], sink: list[str]) -> None:
    assert proc.stdout is not None
    for raw in iter(proc.stdout.readline, b""):
        sink.append(raw.decode("utf-8", "replace"))
