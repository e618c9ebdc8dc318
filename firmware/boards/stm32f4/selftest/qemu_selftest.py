#!/usr/bin/env python3
"""Boot the stm32f4 board self-test image in QEMU (netduinoplus2) and check the port.

    qemu_selftest.py --elf build/stm32f4/firmware/boards/stm32f4/theraloop_board_selftest.elf

Checks, through USART1 on a TCP socket: boot report (reset reason power-on, emulated
168 MHz clock, GNU build id equal to the ELF's), echo through the RX/TX rings, bulk RX
and TX larger than the rings, SysTick advancing at 1 kHz, software reset (reason
"software"), each fault kind (record kept across the reset, reason "fault", record
reported by one boot only), an unhandled interrupt, the stimulator safe state and a
semihosting exit code. Exits non-zero on failure.
Standard library only.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RESET_POWER_ON = 1
RESET_SOFTWARE = 3
RESET_FAULT = 5
FAULT_BUS = 3
FAULT_USAGE = 4
CFSR_UNDEFINSTR = 1 << 16
CFSR_DIVBYZERO = 1 << 25
CFSR_PRECISERR = 1 << 9
CFSR_BFARVALID = 1 << 15
UNMAPPED_ADDR = 0x30000000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Qemu:
    """One QEMU run with USART1 on a TCP socket."""

    elf: Path
    qemu: str
    semihosting: bool = False
    proc: subprocess.Popen[bytes] | None = None
    sock: socket.socket | None = None
    buf: bytearray = field(default_factory=bytearray)

    def __enter__(self) -> Qemu:
        port = free_port()
        cmd = [
            self.qemu,
            "-M",
            "netduinoplus2",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            f"tcp:127.0.0.1:{port},server=on,wait=on",
            "-kernel",
            str(self.elf),
        ]
        if self.semihosting:
            cmd += ["-semihosting-config", "enable=on,target=native"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=1.0)
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("QEMU did not open its serial socket") from None
                time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def read_until(self, pattern: bytes, timeout: float = 5.0) -> bytes:
        """Return everything up to and including `pattern`; keep the rest buffered."""
        assert self.sock is not None
        deadline = time.monotonic() + timeout
        while pattern not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {pattern!r}; have {bytes(self.buf[-200:])!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise ConnectionError(f"QEMU closed the serial port; have {bytes(self.buf)!r}")
            self.buf += chunk
        end = self.buf.index(pattern) + len(pattern)
        out = bytes(self.buf[:end])
        del self.buf[:end]
        return out

    def line(self, timeout: float = 5.0) -> str:
        return self.read_until(b"\r\n", timeout).decode("ascii", "replace").rstrip("\r\n")

    def cmd(self, text: str, timeout: float = 5.0) -> str:
        self.send(text.encode() + b"\n")
        return self.line(timeout)

    def boot(self, timeout: float = 5.0) -> dict[str, str]:
        while True:
            ln = self.line(timeout)
            if ln.startswith("BOOT "):
                return dict(kv.split("=", 1) for kv in ln.split()[1:])


def elf_build_id(elf: Path) -> str:
    out = subprocess.run(
        ["arm-none-eabi-readelf", "-n", str(elf)], check=True, capture_output=True, text=True
    ).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    if not m:
        raise RuntimeError("no GNU build id in the ELF")
    return m.group(1)


def symbol_range(elf: Path, name: str) -> tuple[int, int]:
    out = subprocess.run(
        ["arm-none-eabi-nm", "-S", str(elf)], check=True, capture_output=True, text=True
    ).stdout
    for ln in out.splitlines():
        parts = ln.split()
        if len(parts) == 4 and parts[3] == name:
            start = int(parts[0], 16)
            return start, start + int(parts[1], 16)
    raise RuntimeError(f"symbol {name} not found")


class Checker:
    def __init__(self) -> None:
        self.failures = 0

    def check(self, cond: bool, what: str) -> None:
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures += 1


def run(elf: Path, qemu: str) -> int:
    c = Checker()
    build_id = elf_build_id(elf)
    trig_lo, trig_hi = symbol_range(elf, "tl_platform_trigger_fault")

    with Qemu(elf, qemu) as q:
        b = q.boot()
        c.check(b["reason"] == str(RESET_POWER_ON), f"cold boot reason power-on: {b}")
        c.check(b["fault"] == "0", "no fault record on a cold boot")
        c.check(b["board"] == "stm32f4", "board name")
        c.check(
            b["clk"] == "emulated" and b["sysclk"] == "168000000",
            "QEMU detected (RCC reads 0): 168 MHz emulated clock",
        )
        c.check(b["build_id"] == build_id, f"build id {b['build_id']} == ELF {build_id}")

        c.check(q.cmd("ping") == "pong", "ping")
        c.check(q.cmd("echo hello, ring buffers") == "hello, ring buffers", "echo")

        big = bytes((i * 7) % 94 + 33 for i in range(3000))
        reply = q.cmd("len " + big.decode())
        c.check(reply == f"len {len(big)} sum {sum(big)}", f"3000-byte RX burst: {reply}")

        q.send(b"bulk 5000\n")
        data = q.read_until(b"\r\nEND\r\n")[: -len(b"\r\nEND\r\n")]
        want = bytes(ord("A") + i % 26 for i in range(5000))
        c.check(data == want, f"5000-byte TX burst through a 1 KiB ring ({len(data)} bytes)")

        t0 = int(q.cmd("uptime").split()[1])
        time.sleep(0.5)
        t1 = int(q.cmd("uptime").split()[1])
        c.check(300 <= t1 - t0 <= 2000, f"SysTick advances ~1 kHz: {t1 - t0} ms in 0.5 s")

        st = q.cmd("stats")
        c.check("rx_overflow=0" in st and "tx_dropped=0" in st, f"no losses: {st}")

        c.check(q.cmd("reset") == "resetting", "reset acknowledged before the reset")
        b = q.boot()
        c.check(b["reason"] == str(RESET_SOFTWARE), f"reason software after reset: {b}")
        c.check(b["fault"] == "0", "no fault record after a software reset")

        cases = [
            (
                1,
                FAULT_BUS,
                lambda r: (
                    (r["cfsr"] & (CFSR_PRECISERR | CFSR_BFARVALID))
                    == (CFSR_PRECISERR | CFSR_BFARVALID)
                    and r["bfar"] == UNMAPPED_ADDR
                ),
            ),
            (2, FAULT_USAGE, lambda r: (r["cfsr"] & CFSR_UNDEFINSTR) != 0),
            (3, FAULT_USAGE, lambda r: (r["cfsr"] & CFSR_DIVBYZERO) != 0),
        ]
        check_fn: Callable[[dict[str, int]], bool]
        for trigger, kind, check_fn in cases:
            c.check(q.cmd(f"fault {trigger}") == "faulting", f"fault {trigger} requested")
            b = q.boot()
            c.check(b["reason"] == str(RESET_FAULT), f"fault {trigger}: reason fault: {b}")
            c.check(b["fault"] == "1", f"fault {trigger}: record present")
            rec = {
                k: int(v, 0)
                for k, v in b.items()
                if k in ("kind", "pc", "cfsr", "hfsr", "bfar", "mmfar", "sp", "uptime")
            }
            c.check(rec.get("kind") == kind, f"fault {trigger}: kind {rec.get('kind')} == {kind}")
            c.check(
                trig_lo <= rec.get("pc", 0) < trig_hi,
                f"fault {trigger}: pc {rec.get('pc', 0):#x} in tl_platform_trigger_fault",
            )
            c.check(check_fn(rec), f"fault {trigger}: status registers {b}")
            c.check(0x20000000 <= rec.get("sp", 0) < 0x20020000, "fault sp in SRAM")
            again = dict(kv.split("=", 1) for kv in q.cmd("info").split()[1:])
            c.check(again.get("fault") == "1", "record stays readable during that boot")

        c.check(
            q.cmd("fault 99") == "faulting" and q.line() == "no fault",
            "unknown fault kind is ignored",
        )

        # An interrupt without a handler is a fault too: kind hard with HFSR = CFSR = 0.
        c.check(q.cmd("irq 0") == "pending", "unhandled IRQ 0 (WWDG) pended")
        b = q.boot()
        c.check(
            b["reason"] == str(RESET_FAULT)
            and b["fault"] == "1"
            and b.get("kind") == "1"
            and int(b.get("hfsr", "1"), 0) == 0
            and int(b.get("cfsr", "1"), 0) == 0,
            f"unhandled IRQ -> fault record kind hard, HFSR = CFSR = 0: {b}",
        )

        # Stimulator safe state: USART3 transmitter off (TE, TXEIE clear, UE stays),
        # later writes are dropped and counted, nothing reaches the data register.
        ln = q.cmd("stimsafe")
        m = re.fullmatch(r"stimsafe cr1=(0x[0-9a-f]+) queued=(\d+) dropped=(\d+) tx=(\d+)", ln)
        c.check(m is not None, f"stimsafe reply: {ln}")
        if m is not None:
            cr1, queued, dropped, tx = (int(g, 0) for g in m.groups())
            c.check(
                cr1 & (1 << 3) == 0 and cr1 & (1 << 7) == 0 and cr1 & (1 << 13) != 0,
                f"USART3 CR1 {cr1:#x}: TE and TXEIE off after stim_safe",
            )
            c.check(
                queued == 4 and dropped == 4 and tx == 0,
                "stim-link writes after stim_safe are dropped and counted",
            )
        c.check(q.cmd("reset") == "resetting", "reset after a fault boot")
        b = q.boot()
        c.check(
            b["reason"] == str(RESET_SOFTWARE) and b["fault"] == "0",
            f"fault record reported by one boot only: {b}",
        )

    with Qemu(elf, qemu, semihosting=True) as q:
        q.boot()
        q.send(b"exit 7\n")
        assert q.proc is not None
        try:
            rc = q.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = None
        c.check(rc == 7, f"semihosting SYS_EXIT_EXTENDED exit code 7 (got {rc})")

    print(f"{'PASS' if c.failures == 0 else 'FAIL'}: {c.failures} failure(s)")
    return 0 if c.failures == 0 else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elf", type=Path, required=True)
    ap.add_argument("--qemu", default="qemu-system-arm")
    args = ap.parse_args()
    return run(args.elf, args.qemu)


if __name__ == "__main__":
    sys.exit(main())
