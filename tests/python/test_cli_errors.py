"""CLI behaviour that needs no device: options, usage errors, exit codes, error lines."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from smp import packet as smppacket

from theraloop import __version__
from theraloop.cli import main
from theraloop.errors import ExitCode


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _one_error_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("theraloop: error: ")
    assert result.stdout == ""
    return lines[0]


def test_version_and_help(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"theraloop {__version__}"
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("info", "echo", "reset", "sim", "demo", "smp"):
        assert command in result.stdout


def test_missing_port_is_a_usage_error(runner, monkeypatch):
    monkeypatch.delenv("THERALOOP_PORT", raising=False)
    result = runner.invoke(main, ["info"])
    assert result.exit_code == ExitCode.USAGE
    assert "--port" in _one_error_line(result)


def test_unknown_command_and_bad_option_are_one_line_usage_errors(runner):
    result = runner.invoke(main, ["frobnicate"])
    assert result.exit_code == ExitCode.USAGE
    assert "frobnicate" in _one_error_line(result)
    result = runner.invoke(main, ["--timeout", "0", "info"])
    assert result.exit_code == ExitCode.USAGE
    assert "--timeout" in _one_error_line(result)


def test_no_such_port_exits_3_with_one_line(runner):
    result = runner.invoke(main, ["--port", "/dev/theraloop-no-such-port", "info"])
    assert result.exit_code == ExitCode.NO_DEVICE == 3
    line = _one_error_line(result)
    assert "/dev/theraloop-no-such-port" in line
    assert "No such file or directory" in line


def test_refused_socket_exits_3(runner):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(main, ["--port", f"socket://127.0.0.1:{port}", "echo", "hi"])
    assert result.exit_code == ExitCode.NO_DEVICE
    assert "Connection refused" in _one_error_line(result)


@pytest.fixture
def silent_port() -> Iterator[str]:
    """A TCP port that accepts connections, reads everything and never answers."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.1)
        conns = []
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.setblocking(False)
                conns.append(conn)
            except TimeoutError:
                pass
            for conn in conns:
                with contextlib.suppress(BlockingIOError):
                    conn.recv(4096)
        for conn in conns:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"socket://127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    thread.join()
    srv.close()


def test_port_that_never_answers_exits_4(runner, silent_port):
    result = runner.invoke(main, ["--timeout", "0.3", "--port", silent_port, "info"])
    assert result.exit_code == ExitCode.TIMEOUT == 4
    line = _one_error_line(result)
    assert "no answer" in line and "0.3 s" in line


@pytest.fixture
def garbage_port() -> Iterator[str]:
    """A TCP port that answers every request line with a well-framed but invalid packet."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                if data.endswith(b"\n"):
                    for packet in smppacket.encode(b"\x01\x02\x03"):  # shorter than a header
                        conn.sendall(packet)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"socket://127.0.0.1:{srv.getsockname()[1]}"
    srv.close()
    thread.join(5)


def test_invalid_answer_exits_6(runner, garbage_port):
    result = runner.invoke(main, ["--timeout", "1", "--port", garbage_port, "echo", "x"])
    assert result.exit_code == ExitCode.PROTOCOL == 6
    assert "invalid response" in _one_error_line(result)


def test_json_flag_keeps_errors_off_stdout(runner, silent_port):
    result = runner.invoke(main, ["--json", "--timeout", "0.2", "--port", silent_port, "info"])
    assert result.exit_code == ExitCode.TIMEOUT
    _one_error_line(result)


def test_port_from_environment(runner, monkeypatch):
    monkeypatch.setenv("THERALOOP_PORT", "/dev/theraloop-env-port")
    result = runner.invoke(main, ["info"])
    assert result.exit_code == ExitCode.NO_DEVICE
    assert "/dev/theraloop-env-port" in _one_error_line(result)


def test_smp_data_must_be_a_json_object(runner):
    result = runner.invoke(main, ["--port", "/dev/null", "smp", "64", "0", "--data", "[1]"])
    assert result.exit_code == ExitCode.USAGE
    assert "JSON object" in _one_error_line(result)
    result = runner.invoke(main, ["--port", "/dev/null", "smp", "64", "0", "--data", "{"])
    assert result.exit_code == ExitCode.USAGE
    assert "not valid JSON" in _one_error_line(result)


def test_sim_serve_without_firmware_exits_5(runner, monkeypatch, tmp_path):
    monkeypatch.setenv("THERALOOP_ELF", str(tmp_path / "missing.elf"))
    result = runner.invoke(main, ["sim", "serve"])
    assert result.exit_code == ExitCode.EMULATOR == 5
    assert "make firmware" in _one_error_line(result)


def test_sim_serve_rejects_a_missing_elf_option(runner, tmp_path):
    result = runner.invoke(main, ["sim", "serve", "--elf", str(tmp_path / "nope.elf")])
    assert result.exit_code == ExitCode.USAGE
    assert "nope.elf" in _one_error_line(result)


def test_verbose_logs_go_to_stderr_only(runner, silent_port):
    result = runner.invoke(main, ["-vv", "--timeout", "0.2", "--port", silent_port, "info"])
    assert result.exit_code == ExitCode.TIMEOUT
    assert result.stdout == ""
    assert "DEBUG" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("theraloop: error: ")
