"""QEMU runner pieces that need no firmware: settings file, command line, error paths."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from theraloop.errors import EmulatorError, UsageError
from theraloop.paths import QEMU_SETTINGS, default_elf, repo_root
from theraloop.sim.qemu import LOOPBACK, QemuRunner, QemuSettings, _free_ports

ROOT = Path(__file__).resolve().parents[2]


def test_repo_root_is_found_from_the_package_and_overridable(monkeypatch, tmp_path):
    monkeypatch.delenv("THERALOOP_ROOT", raising=False)
    assert repo_root() == ROOT
    monkeypatch.setenv("THERALOOP_ROOT", str(tmp_path))
    with pytest.raises(UsageError, match="not a theraloop source tree"):
        repo_root()


def test_default_elf_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("THERALOOP_ROOT", raising=False)
    monkeypatch.delenv("THERALOOP_ELF", raising=False)
    assert default_elf() == ROOT / "build/stm32f4/firmware/boards/stm32f4/theraloop.elf"
    monkeypatch.setenv("THERALOOP_ELF", str(tmp_path / "x.elf"))
    assert default_elf() == tmp_path / "x.elf"


def test_shipped_settings_describe_netduinoplus2_with_three_usarts():
    settings = QemuSettings.load(ROOT / QEMU_SETTINGS)
    assert settings.machine == "netduinoplus2"
    assert settings.roles == ("cli", "afe", "stim")
    assert settings.semihosting is True
    assert settings.ready_timeout_s > 0 and settings.bind_attempts >= 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[qemu]\nbinary = 'q'\n", "invalid QEMU settings"),
        (
            "[qemu]\nbinary='q'\nmachine='m'\n[serial]\nroles=['afe']\n",
            "no serial role 'cli'",
        ),
        (
            "[qemu]\nbinary='q'\nmachine='m'\n[serial]\nroles=['cli','cli']\n",
            "unique",
        ),
        ("not toml at all [", "cannot read"),
    ],
)
def test_invalid_settings_are_reported(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(EmulatorError, match=message):
        QemuSettings.load(path)


def test_free_ports_are_distinct_and_bindable_on_loopback():
    ports = _free_ports(4)
    assert len(set(ports)) == 4
    for port in ports:
        with socket.socket() as s:
            s.bind((LOOPBACK, port))


def _settings(**changes: object) -> QemuSettings:
    base = QemuSettings.load(ROOT / QEMU_SETTINGS)
    return QemuSettings(**{**base.__dict__, **changes})


def test_command_line_binds_only_loopback(tmp_path):
    runner = QemuRunner(tmp_path / "fw.elf", settings=_settings(), gdb=True, icount=True)
    cmd = runner._build_command()
    serials = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "-serial"]
    assert len(serials) == 3
    for backend in serials:
        assert backend.startswith("tcp:127.0.0.1:")
        assert backend.endswith(",server=on,wait=off,nodelay=on")
    assert cmd[cmd.index("-gdb") + 1].startswith("tcp:127.0.0.1:")
    assert "-S" in cmd
    assert cmd[cmd.index("-icount") + 1] == "shift=0,align=off,sleep=off"
    assert cmd[cmd.index("-semihosting-config") + 1] == "enable=on,target=native"
    assert cmd[cmd.index("-M") + 1] == "netduinoplus2"


def test_pty_mode_puts_only_the_cli_usart_on_a_pty(tmp_path):
    runner = QemuRunner(tmp_path / "fw.elf", settings=_settings(), cli_pty=True, semihosting=False)
    cmd = runner._build_command()
    serials = [cmd[i + 1] for i, arg in enumerate(cmd) if arg == "-serial"]
    assert serials[0] == "pty"
    assert all(s.startswith("tcp:127.0.0.1:") for s in serials[1:])
    assert "-semihosting-config" not in cmd


def test_missing_firmware_and_missing_qemu_are_emulator_errors(tmp_path):
    with pytest.raises(EmulatorError, match="make firmware"):
        QemuRunner(tmp_path / "missing.elf", settings=_settings()).start()
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(EmulatorError, match="not found on PATH"):
        QemuRunner(elf, settings=_settings(binary="theraloop-no-such-qemu")).start()


def test_qemu_failing_at_start_reports_its_own_message(tmp_path):
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    runner = QemuRunner(elf, settings=_settings(), extra_args=("-no-such-qemu-option",))
    with pytest.raises(EmulatorError, match="no-such-qemu-option"):
        runner.start()
    assert not runner.running
