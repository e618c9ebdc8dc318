"""The CLI and the Device client against the real SMP server: `theraloop-host --pty`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.device import Device
from theraloop.errors import DeviceError, ExitCode, UsageError
from theraloop.mgmt import THERALOOP_GROUP_ID, FaultTestKind, TheraloopErr

VERSION = (Path(__file__).resolve().parents[2] / "VERSION").read_text().strip()


class _AnyInt:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and not isinstance(other, bool)


ANY_INT = _AnyInt()
INFO_KEYS = ["version", "source_revision", "build_id", "board", "uptime_ms"]
INFO_KEYS += ["reset_reason", "fault", "smp_stats"]


@pytest.fixture
def cli(host_device):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--port", host_device.port, "--timeout", "2", *args])

    return run


def _error_line(result) -> str:
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("theraloop: error: "), result.stderr
    return lines[0]


def test_info_json_is_one_object_with_the_documented_fields(cli):
    result = cli("--json", "info")
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 1
    data = json.loads(result.stdout)
    assert list(data)[: len(INFO_KEYS)] == INFO_KEYS
    assert data["board"] == "host"
    assert data["version"] == VERSION
    assert data["reset_reason"] in {"power_on", "unknown"}
    assert isinstance(data["uptime_ms"], int)
    int(data["build_id"], 16)  # hex
    assert {"frames_ok", "bad_crc"} <= set(data["smp_stats"])


def test_json_may_follow_the_command(cli):
    result = cli("info", "--json")
    assert result.exit_code == 0, result.stderr
    assert list(json.loads(result.stdout))[: len(INFO_KEYS)] == INFO_KEYS
    result = cli("echo", "--json", "hi")
    assert json.loads(result.stdout) == {"echo": "hi"}


def test_info_human_output_is_an_aligned_table(cli):
    result = cli("info")
    assert result.exit_code == 0, result.stderr
    rows = [line.split(None, 1) for line in result.stdout.splitlines()]
    keys = [row[0] for row in rows]
    assert keys[:6] == INFO_KEYS[:6]
    assert "smp_stats.frames_ok" in keys
    assert dict(rows)["board"] == "host"
    lines = result.stdout.splitlines()
    value_column = {line.index(row[1]) for line, row in zip(lines, rows, strict=True)}
    assert len(value_column) == 1


def test_echo(cli):
    result = cli("echo", "hello theraloop")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "hello theraloop\n"
    result = cli("--json", "echo", "x" * 500)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"echo": "x" * 500}


def test_unknown_command_is_a_device_error_exit_1(cli):
    result = cli("smp", str(THERALOOP_GROUP_ID), "99")
    assert result.exit_code == ExitCode.DEVICE_ERROR == 1
    line = _error_line(result)
    assert "ENOTSUP" in line and "rc 8" in line


def test_group_error_names_the_group_code(cli):
    result = cli("smp", "64", "1", "--write", "--data", '{"kind": 9}')
    assert result.exit_code == ExitCode.DEVICE_ERROR
    assert "INVALID (group 64, rc 2)" in _error_line(result)


def test_raw_smp_request_prints_the_answer_map(cli):
    result = cli("--json", "smp", "0", "0", "--write", "--data", '{"d": "raw"}')
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"r": "raw"}
    result = cli("--json", "smp", "0", "6")
    assert result.exit_code == 0, result.stderr
    params = json.loads(result.stdout)
    assert params["buf_size"] >= 256 and params["buf_count"] >= 1


def test_reset_wait_reports_the_restart(fresh_host_device):
    runner = CliRunner()
    result = runner.invoke(main, ["--port", fresh_host_device.port, "--json", "reset", "--wait"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data == {"reset": "accepted", "reset_reason": "software", "uptime_ms": ANY_INT}
    result = runner.invoke(main, ["--port", fresh_host_device.port, "reset"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["reset", "accepted"]


# --- the Device client -----------------------------------------------------------------


def test_device_reads_buffer_params_and_echoes_large_text(host_device):
    with host_device.device() as dev:
        assert dev.params is not None and dev.params.buf_size >= 1024
        text = "".join(chr(ord("a") + i % 26) for i in range(1024))
        assert dev.echo(text) == text
        info = dev.info()
        assert info.board == "host"
        assert info.fault is None


def test_device_error_carries_group_rc_and_name(host_device):
    with host_device.device() as dev:
        with pytest.raises(DeviceError) as caught:
            dev.raw(THERALOOP_GROUP_ID, 1, {"kind": 0}, write=True)
        err = caught.value
        assert (err.group, err.rc, err.name, err.version) == (64, 2, "INVALID", 2)
        assert TheraloopErr(err.rc) is TheraloopErr.INVALID
        with pytest.raises(DeviceError) as caught:
            dev.raw(4242, 0, write=False)
        assert (caught.value.rc, caught.value.name) == (8, "ENOTSUP")
        # the connection is still usable after errors
        assert dev.echo("still here") == "still here"


def test_request_larger_than_the_device_buffer_is_refused_before_sending(host_device):
    with host_device.device() as dev:
        assert dev.params is not None
        with pytest.raises(UsageError, match="exceeds"):
            dev.echo("y" * dev.params.buf_size)
        assert dev.echo("ok") == "ok"


def test_device_requires_a_positive_timeout():
    with pytest.raises(UsageError):
        Device("/dev/null", timeout=0)


def test_fault_test_then_wait_ready_shows_the_fault_record(fresh_host_device):
    with fresh_host_device.device() as dev:
        dev.fault_test(FaultTestKind.BUS_READ)
        info = dev.wait_ready(5.0)
    assert info.reset_reason == "fault"
    assert info.fault is not None and info.fault.kind == "bus"
    assert info.to_dict()["fault"]["cfsr"] == info.fault.cfsr
