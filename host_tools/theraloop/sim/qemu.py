"""Run theraloop firmware in QEMU (`netduinoplus2`) with its serial ports on loopback TCP.

    with QemuRunner(elf) as qemu:
        with Device(qemu.cli_url) as dev:
            print(dev.info().board)

Launch settings come from `sim/qemu/netduinoplus2.toml` in the source tree. Each USART is
a QEMU TCP server on 127.0.0.1 (ports chosen free just before start, retried on a
collision); `cli_pty=True` puts the CLI USART on a pty instead, so tools that only open
serial devices (smpclient's unmodified transport, screen, minicom) work too; QEMU polls
its pty for a client once a second, so the first answer on it can take that long.

QEMU's TCP chardev serves one client at a time and drops what the guest sends while no
client is connected; that suits request/response SMP.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from theraloop.errors import EmulatorError
from theraloop.paths import QEMU_SETTINGS, repo_root
from theraloop.sim import flash_image

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
"""The only address the runner ever binds."""

_PTY_RE: Final = re.compile(r"char device redirected to (\S+) \(label (\S+)\)")
_BIND_FAILURE_RE: Final = re.compile(r"address already in use", re.IGNORECASE)
_OUTPUT_LINES: Final = 400
_PROBE_INTERVAL_S: Final = 0.02
_SETTLE_S: Final = 0.05
_EMU_FLAG: Final = 0x4D455354
""""TSEM": tells the firmware it runs on the emulator's flash file (docs/storage.md)."""


@dataclass(frozen=True)
class QemuSettings:
    """Launch settings (see sim/qemu/netduinoplus2.toml for what each one means)."""

    binary: str
    machine: str
    args: tuple[str, ...]
    semihosting: bool
    roles: tuple[str, ...]
    icount_shift: int
    ready_timeout_s: float
    shutdown_timeout_s: float
    bind_attempts: int

    @classmethod
    def load(cls, path: Path | None = None) -> QemuSettings:
        """Read the settings file (default: the source tree's netduinoplus2.toml)."""
        path = path if path is not None else repo_root() / QEMU_SETTINGS
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise EmulatorError(f"cannot read QEMU settings {path}: {exc}") from exc
        try:
            settings = cls(
                binary=str(data["qemu"]["binary"]),
                machine=str(data["qemu"]["machine"]),
                args=tuple(str(a) for a in data["qemu"].get("args", [])),
                semihosting=bool(data["qemu"].get("semihosting", False)),
                roles=tuple(str(r) for r in data["serial"]["roles"]),
                icount_shift=int(data.get("icount", {}).get("shift", 0)),
                ready_timeout_s=float(data.get("timeouts", {}).get("ready_s", 10.0)),
                shutdown_timeout_s=float(data.get("timeouts", {}).get("shutdown_s", 5.0)),
                bind_attempts=int(data.get("ports", {}).get("bind_attempts", 5)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EmulatorError(f"invalid QEMU settings {path}: {exc!r}") from exc
        if not settings.roles or len(set(settings.roles)) != len(settings.roles):
            raise EmulatorError(f"invalid QEMU settings {path}: serial roles must be unique")
        if "cli" not in settings.roles:
            raise EmulatorError(f"invalid QEMU settings {path}: no serial role 'cli'")
        if settings.bind_attempts < 1 or settings.ready_timeout_s <= 0:
            raise EmulatorError(f"invalid QEMU settings {path}: attempts/timeouts must be > 0")
        return settings


class _BindCollision(Exception):
    """QEMU could not bind a port another process took after we chose it."""


def _free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that are free right now."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((LOOPBACK, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _is_listening(port: int) -> bool:
    """True if something listens on 127.0.0.1:`port` (checked without connecting)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


def _accepts(port: int) -> bool:
    """True if 127.0.0.1:`port` accepts a connection (closed again at once)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.2):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: have the kernel SIGTERM QEMU if the runner's process dies."""
    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


class _OutputReader:
    """Collects one QEMU output stream on a thread; reports lines to a callback."""

    def __init__(self, stream: IO[bytes], name: str, on_line: Callable[[str], None]) -> None:
        self.lines: deque[str] = deque(maxlen=_OUTPUT_LINES)
        self._stream = stream
        self._on_line = on_line
        self._thread = threading.Thread(target=self._run, name=f"qemu-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.lines.append(line)
            self._on_line(line)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class QemuRunner:
    """One QEMU process running a firmware image; a context manager.

    `cli_pty`: the CLI USART on a pty instead of TCP. `gdb`: open a GDB server on
    127.0.0.1 and start halted (`-S`) until a debugger continues. `icount`: deterministic
    virtual time (`-icount shift=N,align=off,sleep=off`). `semihosting`: override the
    settings file. `extra_args`: appended to QEMU's command line.

    An application ELF (linked behind the bootloader) boots from a flash file
    (sim/flash_image.py) in `storage_dir`: a new directory per runner unless given. The
    file is kept across `stop()`/`start()` and across runners given the same directory,
    so flash contents (models, configuration, firmware updates) survive a QEMU restart
    like a power cycle. An ELF linked at the start of flash runs on its own (`-kernel`).
    """

    def __init__(
        self,
        elf: Path | str,
        *,
        settings: QemuSettings | None = None,
        cli_pty: bool = False,
        gdb: bool = False,
        icount: bool = False,
        semihosting: bool | None = None,
        extra_args: tuple[str, ...] = (),
        storage_dir: Path | str | None = None,
        bootloader: Path | str | None = None,
    ) -> None:
        self.elf: Final = Path(elf).resolve()
        self._storage_dir: Path | None = None if storage_dir is None else Path(storage_dir)
        self._own_storage_dir = storage_dir is None
        self.bootloader: Final = None if bootloader is None else Path(bootloader)
        self.flash_file: Path | None = None
        self.settings: Final = settings if settings is not None else QemuSettings.load()
        self.cli_pty: Final = cli_pty
        self.gdb: Final = gdb
        self.icount: Final = icount
        self.semihosting: Final = self.settings.semihosting if semihosting is None else semihosting
        self.extra_args: Final = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._readers: list[_OutputReader] = []
        self._ports: dict[str, int] = {}
        self._gdb_port: int | None = None
        self._ptys: dict[str, str] = {}
        self._cmd: list[str] = []
        self._pty_ready = threading.Event()
        self._lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> QemuRunner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start QEMU and wait until every serial port (and GDB port) is ready.

        Raises `EmulatorError` (with QEMU's own message) if it cannot be started.
        """
        if self._proc is not None:
            raise EmulatorError("QEMU is already running")
        if not self.elf.is_file():
            raise EmulatorError(
                f"firmware image {self.elf} not found; build it with `make firmware`"
            )
        if shutil.which(self.settings.binary) is None:
            raise EmulatorError(
                f"{self.settings.binary} not found on PATH; install QEMU "
                "(scripts/bootstrap.sh does)"
            )
        if not flash_image.is_standalone(self.elf):
            if self._storage_dir is None:
                self._storage_dir = Path(tempfile.mkdtemp(prefix="theraloop-flash-"))
                # a directory of our own lives as long as the runner object
                weakref.finalize(self, shutil.rmtree, str(self._storage_dir), True)
            self.flash_file = flash_image.prepare(
                self.elf, self._storage_dir, bootloader=self.bootloader
            )
        for attempt in range(1, self.settings.bind_attempts + 1):
            try:
                self._launch()
                return
            except _BindCollision:
                logger.info("QEMU port collision (attempt %d), retrying", attempt)
        raise EmulatorError(
            f"QEMU could not bind free ports in {self.settings.bind_attempts} attempts"
        )

    def stop(self) -> int | None:
        """Stop QEMU (SIGTERM, then SIGKILL after the shutdown timeout).

        Returns QEMU's exit status (None if it was not running). Safe to call twice.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(self.settings.shutdown_timeout_s)
            except subprocess.TimeoutExpired:
                logger.warning("QEMU (pid %d) ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()
        status = proc.returncode
        self._reap()
        return status

    def power_cut(self) -> None:
        """Kill QEMU at once (SIGKILL), like pulling the power: whatever the firmware was
        writing to its flash file stays as far as it got. `start()` boots it again."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self._reap()

    def _reap(self) -> None:
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for reader in self._readers:
                reader.join(1.0)
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
        self._proc = None
        self._readers = []

    # --- state -----------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._require_proc().pid

    @property
    def returncode(self) -> int | None:
        """QEMU's exit status once it has exited (None while running or not started)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def url(self, role: str) -> str:
        """Where to reach a serial role: `socket://127.0.0.1:N`, or a pty path."""
        self._require_proc()
        if role in self._ptys:
            return self._ptys[role]
        if role not in self._ports:
            raise KeyError(f"no serial role {role!r} (have {', '.join(self.settings.roles)})")
        return f"socket://{LOOPBACK}:{self._ports[role]}"

    @property
    def cli_url(self) -> str:
        return self.url("cli")

    @property
    def afe_url(self) -> str:
        return self.url("afe")

    @property
    def stim_url(self) -> str:
        return self.url("stim")

    @property
    def gdb_address(self) -> str | None:
        """`127.0.0.1:N` for `target remote`, or None without --gdb."""
        return None if self._gdb_port is None else f"{LOOPBACK}:{self._gdb_port}"

    @property
    def storage_dir(self) -> Path | None:
        """The directory of the flash file (QEMU's working directory), or None."""
        return self._storage_dir

    def describe(self) -> dict[str, Any]:
        """Everything a client needs, as printed by `theraloop sim serve`."""
        described: dict[str, Any] = {role: self.url(role) for role in self.settings.roles}
        described.update({"gdb": self.gdb_address, "pid": self.pid, "elf": str(self.elf)})
        if self.flash_file is not None:
            described["flash"] = str(self.flash_file)
        return described

    def output(self) -> str:
        """QEMU's recent stdout and stderr (diagnostics, semihosting output)."""
        with self._lock:
            return "\n".join(line for reader in self._readers for line in reader.lines)

    def check_running(self) -> None:
        """Raise `EmulatorError` (with QEMU's output) if QEMU has exited."""
        status = self.returncode
        if status is not None:
            raise EmulatorError(f"QEMU exited with status {status}{self._output_suffix()}")

    def command(self) -> list[str]:
        """The QEMU command line of the current run."""
        self._require_proc()
        return list(self._cmd)

    # --- internals ---------------------------------------------------------------------

    def _require_proc(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            raise EmulatorError("QEMU is not running")
        return self._proc

    def _build_command(self) -> list[str]:
        s = self.settings
        tcp_roles = [r for r in s.roles if not (self.cli_pty and r == "cli")]
        ports = _free_ports(len(tcp_roles) + (1 if self.gdb else 0))
        self._ports = dict(zip(tcp_roles, ports, strict=False))
        self._gdb_port = ports[-1] if self.gdb else None
        cmd = [s.binary, "-M", s.machine, *s.args]
        if self.flash_file is None:
            cmd += ["-kernel", str(self.elf)]
        else:
            flash = f"file={self.flash_file},addr={flash_image.FLASH_BASE:#x},force-raw=on"
            cmd += ["-device", f"loader,{flash}"]
        for role in s.roles:
            if role in self._ports:
                # nodelay: no Nagle batching, an SMP round trip takes ~1 ms instead of ~43 ms
                backend = f"tcp:{LOOPBACK}:{self._ports[role]},server=on,wait=off,nodelay=on"
            else:
                backend = "pty"
            cmd += ["-serial", backend]
        if self.semihosting:
            cmd += ["-semihosting-config", "enable=on,target=native"]
            if self.flash_file is not None:
                # "TSEM" and its complement at the start of RAM: the firmware uses the flash
                # file through semihosting (storage_stm32f4.c); rewritten at every reset
                flag, inverse = _EMU_FLAG, _EMU_FLAG ^ 0xFFFFFFFF
                cmd += ["-device", f"loader,addr=0x20000000,data={flag:#x},data-len=4"]
                cmd += ["-device", f"loader,addr=0x20000004,data={inverse:#x},data-len=4"]
        if self.icount:
            cmd += ["-icount", f"shift={s.icount_shift},align=off,sleep=off"]
        if self._gdb_port is not None:
            cmd += ["-gdb", f"tcp:{LOOPBACK}:{self._gdb_port}", "-S"]
        cmd += list(self.extra_args)
        return cmd

    def _on_line(self, line: str) -> None:
        match = _PTY_RE.search(line)
        if match is None:
            return
        path, label = match.group(1), match.group(2)
        index = label.removeprefix("serial")
        if index.isdigit() and int(index) < len(self.settings.roles):
            self._ptys[self.settings.roles[int(index)]] = path
            self._pty_ready.set()

    def _launch(self) -> None:
        cmd = self._build_command()
        self._cmd = cmd
        self._ptys = {}
        self._pty_ready.clear()
        logger.debug("starting %s", " ".join(cmd))
        linux = sys.platform.startswith("linux")
        try:
            self._proc = subprocess.Popen(
                cmd,
                cwd=self._storage_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent if linux else None,
            )
        except OSError as exc:
            raise EmulatorError(f"cannot start {cmd[0]}: {exc}") from exc
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._readers = [
            _OutputReader(self._proc.stdout, "stdout", self._on_line),
            _OutputReader(self._proc.stderr, "stderr", self._on_line),
        ]
        try:
            self._wait_ready()
        except BaseException:
            self._reap()
            raise
        logger.info("QEMU (pid %d) ready: %s", self._proc.pid, self.describe())

    def _wait_ready(self) -> None:
        proc = self._require_proc()
        deadline = time.monotonic() + self.settings.ready_timeout_s
        pending = set(self._ports.values())
        while True:
            if proc.poll() is not None:
                for reader in self._readers:
                    reader.join(1.0)
                if _BIND_FAILURE_RE.search(self.output()):
                    raise _BindCollision()
                raise EmulatorError(
                    f"QEMU exited with status {proc.returncode} during start{self._output_suffix()}"
                )
            pending = {port for port in pending if not _accepts(port)}
            gdb_ready = self._gdb_port is None or _is_listening(self._gdb_port)
            pty_ready = not self.cli_pty or self._pty_ready.is_set()
            if not pending and gdb_ready and pty_ready:
                # QEMU creates its chardevs one after another and exits at once if one
                # cannot bind; a port another process holds also accepts our probe. A
                # QEMU still running a moment after its last port is up got them all.
                time.sleep(_SETTLE_S)
                if proc.poll() is None:
                    return
                continue
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"QEMU's ports were not ready within {self.settings.ready_timeout_s:g} s"
                    f"{self._output_suffix()}"
                )
            time.sleep(_PROBE_INTERVAL_S)

    def _output_suffix(self) -> str:
        lines = [line for line in self.output().splitlines() if line.strip()]
        return (": " + " | ".join(lines[-5:])) if lines else ""


@contextlib.contextmanager
def run_qemu(elf: Path | str, **kwargs: Any) -> Iterator[QemuRunner]:
    """`with run_qemu(elf) as qemu:` — start QEMU, stop it on exit."""
    runner = QemuRunner(elf, **kwargs)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
