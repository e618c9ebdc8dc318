"""`theraloop bench upload` and `theraloop bench verify`: the costs of an update.

upload: the image group's upload throughput over the device link, next to what the
serial line could carry: at `baud` 8N1 a byte costs 10 bit times, and every chunk
travels as an SMP request (8-byte header, CBOR map with `off` and the data) inside the
serial framing (length, CRC16, base64, 128-character lines), and comes back as a small
answer; the theoretical payload rate is chunk bytes / (request + answer wire bytes x 10
/ baud), with the device taking no time at all.

verify: boots the firmware in QEMU with -icount and reads the bootloader's check line
("boot: check fw_primary ok version V (N bytes, sha256 X cycles, ed25519 Y cycles)").
"""

from __future__ import annotations

import re
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cbor2
import click
from smp import packet as smppacket

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.errors import DeviceError, EmulatorError
from theraloop.mgmt import request_class
from theraloop.paths import default_elf, default_signing_key
from theraloop.update.cli_common import upload_with_bar
from theraloop.update.client import (
    FIRMWARE_IMAGE,
    IMG_GROUP,
    MODEL_IMAGE,
    ImgCommand,
    UpdateError,
    message_budget,
    upload_request,
)
from theraloop.update.image import (
    SignedImageFile,
    SigningOptions,
    parse_image,
    prepare_model_image,
)

DEFAULT_BAUD: Final = 115200
"""The CLI USART's rate (firmware/boards/stm32f4/board.h) and smpclient's default."""
BITS_PER_BYTE: Final = 10
"""8N1: start bit, 8 data bits, stop bit."""
CPU_HZ: Final = 168_000_000
LINE_LENGTH: Final = 128
BOOT_LINE_RE: Final = re.compile(
    r"boot: check (?P<area>\w+) (?P<result>\w+) version (?P<version>\S+) "
    r"\((?P<bytes>\d+) bytes, sha256 (?P<sha>\d+) cycles, ed25519 (?P<ed>\d+) cycles\)"
)
BANNER_RE: Final = re.compile(r"theraloop (?P<version>\S+) board=(?P<board>\S+)")


def wire_bytes(message: bytes) -> int:
    """Bytes a message takes on the serial line (SMP serial framing, base64, lines)."""
    return sum(len(p) for p in smppacket.encode(message, line_length=LINE_LENGTH))


@dataclass(frozen=True)
class LineModel:
    baud: int
    chunk: int
    request_wire: int
    answer_wire: int

    @property
    def line_bytes_per_s(self) -> float:
        return self.baud / BITS_PER_BYTE

    @property
    def payload_bytes_per_s(self) -> float:
        return self.chunk * self.line_bytes_per_s / (self.request_wire + self.answer_wire)

    def to_json(self) -> dict[str, Any]:
        return {
            "baud": self.baud,
            "line_bytes_per_s": round(self.line_bytes_per_s, 1),
            "chunk_bytes": self.chunk,
            "request_wire_bytes": self.request_wire,
            "answer_wire_bytes": self.answer_wire,
            "efficiency": round(self.chunk / (self.request_wire + self.answer_wire), 4),
            "payload_bytes_per_s": round(self.payload_bytes_per_s, 1),
        }


def line_model(size: int, budget: int, baud: int) -> LineModel:
    """The theoretical rate of full chunks of an upload of `size` bytes."""
    data = bytes(size)
    fields, n = upload_request(data, size // 2, budget, {})
    req = request_class(IMG_GROUP, ImgCommand.UPLOAD, write=True)(**fields)
    answer = bytes(8) + cbor2.dumps({"off": size})  # an 8-byte SMP header + {"off": N}
    return LineModel(baud, n, wire_bytes(req.BYTES), wire_bytes(answer))


def _synthetic_image(size: int, workdir: Path) -> SignedImageFile:
    """A signed non-bootable image of about `size` bytes (not a valid model)."""
    from theraloop.sign import sign_image

    src = workdir / "bench.bin"
    src.write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    out = workdir / "bench.signed.bin"
    sign_image(src, default_signing_key(), out, non_bootable=True, header_size=0x20)
    return parse_image(out.read_bytes(), "synthetic")


@click.command()
@click.option(
    "--size",
    type=click.IntRange(min=1024, max=0x1F000),
    default=65536,
    show_default=True,
    metavar="N",
    help="Payload bytes of the synthetic image (without --file).",
)
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Upload this model (.tflite or signed model image) instead: the device keeps it.",
)
@click.option(
    "--image",
    "image_number",
    type=click.IntRange(0, 1),
    default=MODEL_IMAGE,
    show_default=True,
    help="Image number to upload to (0 firmware secondary, 1 model slot).",
)
@click.option(
    "--baud",
    type=click.IntRange(min=1),
    default=DEFAULT_BAUD,
    show_default=True,
    help="Serial line rate for the theoretical figure (the device's CLI USART).",
)
@json_option
@pass_state
def upload(state: CliState, size: int, file: Path | None, image_number: int, baud: int) -> None:
    """Upload throughput of the image group against the serial line rate.

    Without --file a synthetic signed image is uploaded; the device refuses it at the
    end (it is no model), which is reported, and the throughput still counts every byte.
    """
    with tempfile.TemporaryDirectory(prefix="theraloop-bench-") as tmp:
        if file is not None:
            image = prepare_model_image(file, SigningOptions(), Path(tmp))
        else:
            image = _synthetic_image(size, Path(tmp))
    port = state.require_port()
    accepted: bool = True
    refusal: str | None = None
    with state.device() as dev:
        budget = message_budget(dev)
        start = time.monotonic()
        try:
            result = upload_with_bar(
                dev, image, image_number=image_number, label="upload", quiet=state.json
            )
            seconds, rate = result.seconds, result.rate
            resumed = result.resumed_from
        except DeviceError as exc:
            # The synthetic image's last chunk is answered with the check's refusal:
            # every byte was carried, so the time still measures the link.
            if file is not None or image_number == FIRMWARE_IMAGE:
                raise
            seconds = time.monotonic() - start
            rate = image.size / seconds if seconds > 0 else 0.0
            accepted, refusal, resumed = False, str(exc), 0
    model = line_model(image.size, budget, baud)
    data: dict[str, Any] = {
        "port": port,
        "line": "socket (not rate-limited)" if "://" in port else "serial",
        "image": image_number,
        "bytes": image.size,
        "seconds": round(seconds, 3),
        "measured_bytes_per_s": round(rate, 1),
        "resumed_from": resumed,
        "buf_size": budget + 4,
        "theory": model.to_json(),
        "ratio": round(rate / model.payload_bytes_per_s, 3),
        "accepted": accepted,
        "refusal": refusal,
    }
    human = "\n".join(
        [
            f"upload of {image.size:,} bytes to image {image_number} on {port}: "
            f"{seconds:.2f} s, {rate:,.0f} B/s measured",
            f"line {baud} baud 8N1 = {model.line_bytes_per_s:,.0f} B/s; chunks of "
            f"{model.chunk} B travel as {model.request_wire} B + {model.answer_wire} B "
            f"answer -> {model.payload_bytes_per_s:,.0f} B/s payload at best "
            f"({100 * model.chunk / (model.request_wire + model.answer_wire):.1f} % of the line)",
            f"measured / theoretical: {rate / model.payload_bytes_per_s:.2f}"
            + (" (socket link: not limited by a baud rate)" if "://" in port else ""),
        ]
        + ([f"device refused the synthetic image at the end: {refusal}"] if refusal else [])
    )
    state.emit(data, human)


def _read_boot_lines(sock: socket.socket, timeout: float) -> tuple[list[str], dict[str, Any]]:
    deadline = time.monotonic() + timeout
    buf = b""
    lines: list[str] = []
    found: dict[str, Any] = {}
    while time.monotonic() < deadline and not ("check" in found and "banner" in found):
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            raw, buf = buf.split(b"\n", 1)
            line = raw.decode("utf-8", "replace").strip()
            lines.append(line)
            if (m := BOOT_LINE_RE.search(line)) is not None and "check" not in found:
                found["check"] = m
            if (b := BANNER_RE.search(line)) is not None and "banner" not in found:
                found["banner"] = b
    return lines, found


@click.command()
@click.option(
    "--elf",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Image QEMU boots [default: $THERALOOP_ELF, else the tree's firmware build].",
)
@click.option(
    "--boot-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the bootloader's check line.",
)
@json_option
@pass_state
def verify(state: CliState, elf: Path | None, boot_timeout: float) -> None:
    """Cycles the bootloader spends checking the primary image (SHA-256, Ed25519).

    Boots QEMU with -icount, halted, connects to the CLI port first (QEMU drops serial
    output nobody reads), then lets the CPU run and parses the check line. The line's
    SysTick ticks are converted to instructions executed (QEMU -icount), reported as
    cycles at one instruction per cycle.
    """
    from theraloop.flash.gdb_rsp import GdbClient
    from theraloop.sim.qemu import QemuRunner

    image = (elf or default_elf()).resolve()
    with QemuRunner(image, icount=True, gdb=True) as qemu:
        host, _, port = qemu.cli_url.removeprefix("socket://").rpartition(":")
        gdb_host, _, gdb_port = (qemu.gdb_address or "").rpartition(":")
        with socket.create_connection((host, int(port)), timeout=5.0) as sock:
            with GdbClient(gdb_host, int(gdb_port)) as gdb:
                gdb.detach()
            lines, found = _read_boot_lines(sock, boot_timeout)
        qemu.check_running()
    m = found.get("check")
    if m is None:
        tail = " | ".join(line for line in lines[-3:] if line) or "nothing"
        raise EmulatorError(
            f"no bootloader check line within {boot_timeout:g} s on the CLI port (got: {tail})"
        )
    # The bootloader counts SysTick ticks of the 168 MHz core clock as QEMU models it;
    # under -icount one instruction is 2^shift ns, so a tick is 1e9 / 2^shift / 168e6
    # instructions (5.95 at shift 0). Reported as cycles at one instruction per cycle.
    sha_ticks, ed_ticks = int(m["sha"]), int(m["ed"])
    per_tick = 1e9 / (2**qemu.settings.icount_shift) / CPU_HZ
    sha, ed = round(sha_ticks * per_tick), round(ed_ticks * per_tick)
    banner = found.get("banner")
    data: dict[str, Any] = {
        "elf": str(image),
        "area": m["area"],
        "result": m["result"],
        "version": m["version"],
        "bytes": int(m["bytes"]),
        "systick_ticks": {"sha256": sha_ticks, "ed25519": ed_ticks},
        "instructions_per_tick": round(per_tick, 4),
        "sha256_cycles": sha,
        "ed25519_cycles": ed,
        "total_cycles": sha + ed,
        "sha256_cycles_per_byte": round(sha / int(m["bytes"]), 2) if int(m["bytes"]) else None,
        "ms_at_168mhz": {
            "sha256": round(sha / CPU_HZ * 1e3, 3),
            "ed25519": round(ed / CPU_HZ * 1e3, 3),
            "total": round((sha + ed) / CPU_HZ * 1e3, 3),
        },
        "app_version": banner["version"] if banner else None,
        "line": m.group(0),
    }
    if m["result"] != "ok":
        raise UpdateError(f"the bootloader's check failed: {m.group(0)}")
    state.emit(
        data,
        f"{m['area']} {m['result']}: version {m['version']}, {int(m['bytes']):,} bytes\n"
        f"sha256   {sha:>12,} cycles ({sha / CPU_HZ * 1e3:.2f} ms at 168 MHz, "
        f"{data['sha256_cycles_per_byte']} cycles/byte)\n"
        f"ed25519  {ed:>12,} cycles ({ed / CPU_HZ * 1e3:.2f} ms at 168 MHz)\n"
        f"total    {sha + ed:>12,} cycles ({(sha + ed) / CPU_HZ * 1e3:.2f} ms)",
    )
