"""`theraloop sim serve` and `theraloop demo` as users run them, and the runner's retries."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import theraloop.sim.qemu as qemu_mod
from theraloop.device import Device
from theraloop.sim.qemu import QemuRunner

pytestmark = pytest.mark.qemu

THERALOOP = Path(sys.executable).with_name("theraloop")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "sim serve printed nothing"
    return proc.stdout.readline()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sim_serve_prints_where_to_connect_and_stops_qemu_on_signal(firmware_elf, sig):
    proc = subprocess.Popen(
        [str(THERALOOP), "sim", "serve", "--elf", str(firmware_elf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(_first_line(proc, 20.0))
        assert set(ready) == {"cli", "afe", "stim", "gdb", "pid", "elf", "flash"}
        assert Path(ready["flash"]).name == "theraloop-flash.bin"
        for role in ("cli", "afe", "stim"):
            assert ready[role].startswith("socket://127.0.0.1:")
        assert ready["gdb"] is None
        assert Path(ready["elf"]) == firmware_elf.resolve()
        qemu_pid = ready["pid"]
        assert _alive(qemu_pid)

        info = subprocess.run(
            [str(THERALOOP), "--port", ready["cli"], "info", "--json"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert info.returncode == 0, info.stderr
        assert json.loads(info.stdout)["board"] == "stm32f4"

        proc.send_signal(sig)
        assert proc.wait(15) == 0
        assert proc.stderr is not None and proc.stderr.read() == ""
        deadline = time.monotonic() + 5
        while _alive(qemu_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(qemu_pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_serve_exits_5_when_qemu_dies(firmware_elf):
    proc = subprocess.Popen(
        [str(THERALOOP), "sim", "serve", "--pty", "--elf", str(firmware_elf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(_first_line(proc, 20.0))
        assert ready["cli"].startswith("/dev/")
        os.kill(ready["pid"], signal.SIGKILL)
        assert proc.wait(15) == 5
        assert proc.stderr is not None
        lines = proc.stderr.read().splitlines()
        assert len(lines) == 1 and lines[0].startswith("theraloop: error: QEMU exited")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sim_serve_gdb_starts_halted(firmware_elf):
    proc = subprocess.Popen(
        [str(THERALOOP), "sim", "serve", "--gdb", "--elf", str(firmware_elf)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready = json.loads(_first_line(proc, 20.0))
        host, port = ready["gdb"].split(":")
        assert host == "127.0.0.1"
        dev = Device(ready["cli"], timeout=0.3)
        try:
            # halted (-S): the firmware does not answer until a debugger continues it
            with pytest.raises(TimeoutError):
                dev.wait_ready(1.0)
            with socket.create_connection((host, int(port)), timeout=2) as gdb:
                gdb.sendall(b"+$c#63")  # GDB remote protocol: continue
                assert dev.wait_ready(5.0).board == "stm32f4"
        finally:
            dev.close()
        proc.terminate()
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_runner_retries_when_a_chosen_port_is_taken(firmware_elf, monkeypatch):
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    real_free_ports = qemu_mod._free_ports
    calls: list[list[int]] = []

    def first_call_collides(count: int) -> list[int]:
        ports = real_free_ports(count)
        if not calls:
            ports[0] = taken
        calls.append(ports)
        return ports

    monkeypatch.setattr(qemu_mod, "_free_ports", first_call_collides)
    try:
        with QemuRunner(firmware_elf) as runner:
            assert len(calls) == 2
            assert runner.cli_url != f"socket://127.0.0.1:{taken}"
            with Device(runner.cli_url, timeout=2.0) as dev:
                assert dev.wait_ready(10.0).board == "stm32f4"
    finally:
        squatter.close()
