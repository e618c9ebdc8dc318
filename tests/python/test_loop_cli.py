"""`theraloop config|therapy|status|stream|log` against the real core: `theraloop-host
--pty --links`, whose AFE and stimulator links are ptys of their own."""

from __future__ import annotations

import json
import os
import select
import subprocess
import termios
import threading
import time
import tty
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import _host_binary, _read_line
from theraloop.cli import main
from theraloop.errors import ExitCode
from theraloop.links.stim import decode_commands
from theraloop.loop import scenarios as sc


@dataclass
class LinkedHost:
    proc: subprocess.Popen[bytes]
    port: str
    afe_fd: int
    stim_fd: int
    stim: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.afe_fd, view[:1024])
            view = view[n:]


def _open_raw(path: str) -> int:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd, termios.TCSANOW)
    return fd


@pytest.fixture
def linked_host() -> Iterator[LinkedHost]:
    proc = subprocess.Popen(
        [str(_host_binary()), "--pty", "--links"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE
    )
    try:
        paths = json.loads(_read_line(proc, 10.0))
        host = LinkedHost(proc, paths["pty"], _open_raw(paths["afe"]), _open_raw(paths["stim"]))

        def collect() -> None:
            while proc.poll() is None:
                ready, _, _ = select.select([host.stim_fd], [], [], 0.1)
                if ready:
                    try:
                        host.stim.extend(os.read(host.stim_fd, 4096))
                    except OSError:
                        return

        threading.Thread(target=collect, daemon=True).start()
        yield host
        assert proc.poll() is None, f"theraloop-host exited with status {proc.returncode}"
        os.close(host.afe_fd)
        os.close(host.stim_fd)
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
def cli(linked_host):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--port", linked_host.port, "--timeout", "3", *args])

    return run


BUILTIN = {
    "model": "none",
    "policy": "open_loop",
    "afe_rate_hz": 1000,
    "afe_channels": 1,
    "hop_samples": 20,
    "pipeline": "features",
    "dropout_ms": 60000,
}


def _setup(cli) -> None:
    r = cli("config", "set", *(f"{k}={v}" for k, v in BUILTIN.items()))
    assert r.exit_code == 0, r.stderr


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_config_get_set_and_refusals(cli):
    _setup(cli)
    r = cli("--json", "config", "get")
    assert r.exit_code == 0, r.stderr
    values = json.loads(r.stdout)
    assert values["model"] == "none" and values["policy"] == "open_loop"
    assert {"amplitude_max_ua", "afe_rate_hz", "infer_every", "dropout_ms"} <= set(values)
    r = cli("config", "get", "policy", "hop_samples")
    assert r.exit_code == 0 and "open_loop" in r.stdout and "20" in r.stdout
    r = cli("config", "get", "no_such_field")
    assert r.exit_code == ExitCode.DEVICE_ERROR and "UNKNOWN_KEY" in r.stderr
    # an unsafe combination: refused with the validator's reason, nothing applied
    r = cli("config", "set", "open_loop_amplitude_ua=1500", "pulse_width_max_us=1000")
    assert r.exit_code == ExitCode.DEVICE_ERROR
    assert "THERAPY_" in r.stderr and "pulse_width_max_us" in r.stderr
    r = cli("--json", "config", "get", "open_loop_amplitude_ua", "pulse_width_max_us")
    assert json.loads(r.stdout) == {"open_loop_amplitude_ua": 1000, "pulse_width_max_us": 120}
    r = cli("config", "set", "policy=nonsense")
    assert r.exit_code == 1 and "BAD_VALUE" in r.stderr and "nonsense" in r.stderr
    r = cli("config", "set", "policy")
    assert r.exit_code == ExitCode.USAGE
    r = cli("--json", "config", "set", "open_loop_amplitude_ua=1500")
    assert r.exit_code == 0
    answer = json.loads(r.stdout)
    assert answer["applied"] == 1 and answer["worst_density_cuc_cm2"] == 600


def test_therapy_commands_status_stream_and_log(cli, linked_host):
    _setup(cli)
    assert cli("therapy", "start").exit_code == 0
    r = cli("therapy", "resume")
    assert r.exit_code == 1 and "STATE" in r.stderr and "running" in r.stderr
    x = np.random.default_rng(3).normal(0, 400, 2000).astype(np.int16)
    linked_host.feed(sc.afe_stream(x, 1000, block=20))
    _wait(lambda: len(decode_commands(bytes(linked_host.stim))) >= 100)
    cmds = decode_commands(bytes(linked_host.stim))
    assert [c.seq for c in cmds] == list(range(cmds[0].seq, cmds[0].seq + len(cmds)))
    assert cmds[-1].enabled and cmds[-1].amplitude_ua == 1000
    r = cli("--json", "status")
    st = json.loads(r.stdout)
    assert st["therapy"]["state"] == "running" and st["therapy"]["amplitude_ua"] == 1000
    assert st["afe"]["blocks"] == 100 and st["sensing"]["steps"] == 100
    assert st["timing"]["step"]["count"] == 100
    assert st["timing"]["step"]["max"] >= st["timing"]["step"]["mean"] >= 1
    r = cli("status")
    assert r.exit_code == 0 and "running" in r.stdout and "supervisor" in r.stdout
    # telemetry: JSON lines, CSV, following
    r = cli("stream", "--json", "--since", "0")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert records and records[-1]["amplitude_ua"] == 1000 and records[-1]["mode"] == "policy"
    assert [r_["seq"] for r_ in records] == list(range(records[0]["seq"], records[-1]["seq"] + 1))
    r = cli("stream", "--csv", "--since", str(records[-1]["seq"]))
    lines = r.stdout.splitlines()
    assert lines[0].startswith("seq,time_ms,step,f0") and len(lines) == 2
    # pause takes effect at once: the stimulator got "off" before any further sample
    n = len(decode_commands(bytes(linked_host.stim)))
    assert cli("therapy", "pause").exit_code == 0
    _wait(lambda: len(decode_commands(bytes(linked_host.stim))) > n)
    assert not decode_commands(bytes(linked_host.stim))[-1].enabled
    r = cli("--json", "log")
    events = json.loads(r.stdout)["events"]
    assert [e["type"] for e in events].count("command") >= 3
    assert any(e["type"] == "therapy" and e["after"]["amplitude_ua"] == 1000 for e in events)
    r = cli("log")
    assert r.exit_code == 0 and "command" in r.stdout


def test_stream_follow_sees_new_records(cli, linked_host):
    _setup(cli)
    assert cli("therapy", "start").exit_code == 0
    x = np.random.default_rng(4).normal(0, 400, 2000).astype(np.int16)  # 100 steps < ring

    def later() -> None:
        time.sleep(0.5)
        linked_host.feed(sc.afe_stream(x, 1000))

    threading.Thread(target=later, daemon=True).start()
    r = cli("stream", "--follow", "--json", "--count", "100", "--interval", "0.05", "--since", "0")
    assert r.exit_code == 0, r.stderr
    seqs = [json.loads(line)["seq"] for line in r.stdout.splitlines()]
    assert seqs == list(range(100))


def test_garbage_on_the_links_is_counted_and_the_device_answers(cli, linked_host):
    _setup(cli)
    assert cli("therapy", "start").exit_code == 0
    rng = np.random.default_rng(5)
    linked_host.feed(rng.integers(0, 256, 20000, dtype=np.uint8).tobytes())
    os.write(linked_host.stim_fd, rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    linked_host.feed(sc.afe_stream(rng.normal(0, 300, 400).astype(np.int16), 1000))
    time.sleep(0.5)
    st = json.loads(cli("--json", "status").stdout)
    assert st["afe"]["discarded"] > 0 and st["stim"]["rx_discarded"] > 0
    assert st["therapy"]["state"] == "running" and st["therapy"]["amplitude_ua"] <= 3000
    assert cli("echo", "hi").exit_code == 0
