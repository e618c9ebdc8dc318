"""Exact instruction counts from a QEMU execution trace: `theraloop bench --cross-check`.

An independent check of the SysTick method. QEMU runs the firmware with `-singlestep`
(one instruction per translation block) under the same `-icount`, and its execution log
(`-d exec,nochain`) is switched on over QMP for exactly one `bench` request with one
timed run. Every logged block is one executed instruction, except one artefact: when
the instruction budget of `-icount` runs out at a timer deadline, QEMU logs the block,
leaves it before executing it and logs it again when it resumes, so an instruction
appears twice in a row. No engine code branches to itself, so consecutive repeats are
removed. The count runs from the first instruction of `tl_nn_invoke` up to the return
into the bench harness (`tl_nn_bench_run`), interrupts being masked in between.
"""

from __future__ import annotations

import bisect
import json
import re
import socket
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from theraloop.bench.measure import bench_inputs
from theraloop.bench.sizes import LinkMap, object_label
from theraloop.device import Device
from theraloop.errors import EmulatorError, UsageError
from theraloop.model.device_engine import DeviceEngine
from theraloop.sim.qemu import QemuRunner

_TRACE_LINE: Final = re.compile(rb"Trace \d+: \S+ \[[0-9a-f]+/([0-9a-f]+)/")
_SHT_SYMTAB: Final = 2
_QMP_TIMEOUT_S: Final = 10.0
_BOOT_TIMEOUT_S: Final = 30.0


def elf_symbols(elf: Path, names: set[str]) -> dict[str, tuple[int, int]]:
    """(address, size) of the named symbols of a 32-bit little-endian ELF file (Thumb
    bit cleared)."""
    data = elf.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        raise UsageError(f"{elf}: not a 32-bit little-endian ELF file")
    shoff = struct.unpack_from("<I", data, 32)[0]
    shentsize, shnum = struct.unpack_from("<HH", data, 46)
    headers = [struct.unpack_from("<IIIIIIIIII", data, shoff + i * shentsize) for i in range(shnum)]
    found: dict[str, tuple[int, int]] = {}
    for h in headers:
        if h[1] != _SHT_SYMTAB:
            continue
        strtab = headers[h[6]]
        str_off = strtab[4]
        for k in range(h[5] // 16):
            st_name, st_value, st_size, _info, _other, _shndx = struct.unpack_from(
                "<IIIBBH", data, h[4] + 16 * k
            )
            end = data.index(b"\0", str_off + st_name)
            name = data[str_off + st_name : end].decode("ascii", "replace")
            if name in names:
                found[name] = (st_value & ~1, st_size)
    missing = names - set(found)
    if missing:
        raise UsageError(f"{elf}: no symbol {', '.join(sorted(missing))}")
    return found


class _Qmp:
    """A minimal QMP client, for human-monitor commands."""

    def __init__(self, path: Path) -> None:
        deadline = time.monotonic() + _QMP_TIMEOUT_S
        while True:
            try:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self._sock.settimeout(_QMP_TIMEOUT_S)
                self._sock.connect(str(path))
                break
            except OSError as e:
                self._sock.close()
                if time.monotonic() > deadline:
                    raise EmulatorError(f"cannot reach QEMU's QMP socket: {e}") from e
                time.sleep(0.05)
        self._file = self._sock.makefile("rwb")
        self._file.readline()  # greeting
        self._command({"execute": "qmp_capabilities"})

    def _command(self, msg: dict[str, Any]) -> Any:
        self._file.write(json.dumps(msg).encode() + b"\n")
        self._file.flush()
        while True:
            line = self._file.readline()
            if not line:
                raise EmulatorError("QEMU closed its QMP socket")
            reply = json.loads(line)
            if "error" in reply:
                raise EmulatorError(f"QMP: {reply['error']}")
            if "return" in reply:
                return reply["return"]

    def hmp(self, command: str) -> None:
        self._command({"execute": "human-monitor-command", "arguments": {"command-line": command}})

    def close(self) -> None:
        self._file.close()
        self._sock.close()


@dataclass(frozen=True)
class TraceCount:
    instructions: int  # tl_nn_invoke, entry to return, repeats removed
    logged: int  # trace lines in that span before removing repeats
    pcs: tuple[int, ...] = ()  # the executed instructions' addresses, repeats removed


def count_invoke(pcs: list[int], entry: int, harness: tuple[int, int]) -> TraceCount:
    """The last complete run of tl_nn_invoke in a list of executed PCs."""
    lo, hi = harness[0], harness[0] + harness[1]
    starts = [k for k, pc in enumerate(pcs) if pc == entry]
    if not starts:
        raise EmulatorError("tl_nn_invoke does not appear in the execution trace")
    i = starts[-1]
    j = next((k for k in range(i, len(pcs)) if lo <= pcs[k] < hi), None)
    if j is None:
        raise EmulatorError("the traced run of tl_nn_invoke did not return to the harness")
    run = pcs[i:j]
    kept = [pc for k, pc in enumerate(run) if k == 0 or pc != run[k - 1]]
    return TraceCount(len(kept), len(run), tuple(kept))


def by_object(pcs: tuple[int, ...], lm: LinkMap) -> dict[str, int]:
    """Instructions per object file (`op_conv.c`, `libgcc:_arm_muldivdf3.o`, ...): where
    the time of a traced run goes, from the map's code sections."""
    spans = sorted(
        (addr, addr + size, f)
        for sec, addr, size, f in lm.inputs
        if size and sec.startswith(".text")
    )
    starts = [s[0] for s in spans]
    counts: dict[str, int] = {}
    for pc in pcs:
        k = bisect.bisect_right(starts, pc) - 1
        name = "?"
        if k >= 0 and spans[k][0] <= pc < spans[k][1]:
            name = object_label(spans[k][2])
        counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def trace_variant(
    elf: Path,
    models: list[Path],
    *,
    timeout: float,
    step: Callable[[str], None] | None = None,
) -> dict[Path, TraceCount]:
    """Exact instructions of one tl_nn_invoke per model (bench input), from a trace."""
    syms = elf_symbols(elf, {"tl_nn_invoke", "tl_nn_bench_run"})
    entry = syms["tl_nn_invoke"][0]
    harness = syms["tl_nn_bench_run"]
    results: dict[Path, TraceCount] = {}
    with tempfile.TemporaryDirectory(prefix="theraloop-trace-") as tmp:
        log = Path(tmp) / "exec.log"
        qmp_path = Path(tmp) / "qmp.sock"
        extra = ("-singlestep", "-D", str(log), "-qmp", f"unix:{qmp_path},server=on,wait=off")
        with QemuRunner(elf, icount=True, extra_args=extra) as qemu:
            dev = Device(qemu.cli_url, timeout=max(timeout, 30.0))
            qmp = _Qmp(qmp_path)
            try:
                dev.wait_ready(_BOOT_TIMEOUT_S)
                dev.disconnect()
                dev.open()
                engine = DeviceEngine(dev)
                for path in models:
                    if step is not None:
                        step(f"{elf.name}: trace {path.name}")
                    data = path.read_bytes()
                    engine.load_model(data)
                    inputs = bench_inputs(data)
                    log.write_bytes(b"")
                    qmp.hmp("log exec,nochain")
                    engine.bench(1, inputs=inputs, timeout=120.0)
                    qmp.hmp("log none")
                    pcs = [int(m.group(1), 16) for m in _TRACE_LINE.finditer(log.read_bytes())]
                    results[path] = count_invoke(pcs, entry, harness)
            finally:
                qmp.close()
                dev.close()
            qemu.check_running()
    return results
