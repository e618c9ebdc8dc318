"""Signed firmware update end to end in QEMU: bootloader, image group, CLI (issue #8).

The device boots the build's bootloader and signed application (0.1.0) from its flash
file; updates are the build's other application, `theraloop_portable` (its inference
engine has no DSP kernels, so `nn state` tells which code runs), signed here with
`theraloop sign`. Every check goes through the real serial protocol: the CLI, the
Python update client, smpclient, or the bootloader's lines on the CLI USART.

Uploads of the full image (~160 KB) take some seconds each, so the flash file of a
device with an update uploaded and marked for test is made once (`pending_flash`) and
copied for every test that starts from it. Refusals of images whose content does not
matter (wrong key, unsigned, older version) use an 8 KiB payload.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from smpclient import SMPClient
from smpclient.generics import success
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite
from smpclient.requests.os_management import ResetWrite
from smpclient.transport.serial import SMPSerialTransport

from theraloop.cli import main
from theraloop.device import Device
from theraloop.errors import DeviceError
from theraloop.flash.gdb_rsp import GdbClient, parse_address
from theraloop.mgmt import NnStateRead
from theraloop.sim.flash_image import FLASH_FILE_NAME
from theraloop.sim.qemu import QemuRunner
from theraloop.update.client import FIRMWARE_IMAGE, image_states, set_image_state, upload
from theraloop.update.image import ImageFormatError, SignedImageFile, parse_image

pytestmark = pytest.mark.qemu

ROOT = Path(__file__).resolve().parents[2]
DEV_KEY = ROOT / "keys/dev-ed25519.pem"
OTHER_KEY = ROOT / "tests/unit/data/fw_update/other-key-ed25519.pem"
BOOT_TIMEOUT_S = 15.0
STUB_BYTES = 8192
SWAP_LINE_RE = re.compile(r"^boot: swap test ([12])/2 phase ([012])$")
BANNER_RE = re.compile(r"^theraloop \S+ board=")


# --- helpers -----------------------------------------------------------------------------


def _cli(*args: str) -> Any:
    """`theraloop --json ARGS`: the parsed JSON answer (exit status must be 0)."""
    result = CliRunner().invoke(main, ["--json", *args])
    assert result.exit_code == 0, (result.exit_code, result.stderr, result.output)
    return json.loads(result.stdout)


def _cli_fails(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code != 0, result.stdout
    return result.exit_code, result.stderr


def _info(url: str) -> dict[str, Any]:
    """`theraloop info` as JSON: what the done-when criterion is stated in."""
    return _cli("--port", url, "info")  # type: ignore[no-any-return]


def _dsp(url: str) -> bool:
    """True on the build's application, False on theraloop_portable (the update)."""
    with Device(url, timeout=2.0) as dev:
        return bool(dev.request(NnStateRead()).dsp)


def _sign(src: Path, out: Path, version: str, key: Path = DEV_KEY) -> SignedImageFile:
    data = _cli("sign", str(src), "--key", str(key), "-o", str(out), "--version", version)
    assert data["version"].startswith(version)
    return parse_image(out.read_bytes(), out.name)


def _hash_tlv(data: bytes) -> bytes:
    """The image hash an image claims (its SHA-256 TLV), whether or not it is right."""
    header_size, protected_size, payload_size = struct.unpack_from("<HHI", data, 8)
    pos = header_size + payload_size + protected_size
    magic, total = struct.unpack_from("<HH", data, pos)
    assert magic == 0x6907, hex(magic)
    end, pos = pos + total, pos + 4
    while pos < end:
        kind, length = struct.unpack_from("<HH", data, pos)
        if kind == 0x10:
            return data[pos + 4 : pos + 4 + length]
        pos += 4 + length
    raise AssertionError("no SHA-256 TLV")


def _wait_ready(url: str) -> None:
    """Poll until the application answers (the bootloader may still be swapping)."""
    dev = Device(url, timeout=2.0)  # not opened: wait_ready opens (and reopens) it
    try:
        dev.wait_ready(BOOT_TIMEOUT_S)
    finally:
        dev.close()


@dataclass(frozen=True)
class Images:
    original: SignedImageFile
    """The image the device starts with (the build's theraloop.signed.bin, 0.1.0)."""
    v020: SignedImageFile
    v020_path: Path
    tampered: bytes
    wrong_key: Path
    unsigned: bytes
    v001: Path
    v015: Path


@pytest.fixture(scope="module")
def images(firmware_elf: Path, tmp_path_factory: pytest.TempPathFactory) -> Images:
    tmp = tmp_path_factory.mktemp("fw-images")
    portable = firmware_elf.with_name("theraloop_portable.bin")
    original = parse_image(firmware_elf.with_name("theraloop.signed.bin").read_bytes())
    assert original.version.startswith("0.1.0")
    v020_path = tmp / "portable-0.2.0.bin"
    v020 = _sign(portable, v020_path, "0.2.0")
    # one bit flipped near the end of the payload: the hash must cover all of it
    tampered = bytearray(v020.data)
    tampered[v020.header_size + v020.payload_size - 100] ^= 0x04
    stub = tmp / "stub.bin"
    stub.write_bytes(portable.read_bytes()[:STUB_BYTES])
    _sign(stub, tmp / "wrong-key.bin", "0.2.0", key=OTHER_KEY)
    unsigned = tmp / "unsigned.bin"
    imgtool = Path(sys.executable).with_name("imgtool")
    subprocess.run(
        [str(imgtool), "sign", "--header-size", "0x200", "--pad-header", "--align", "4",
         "--slot-size", "0x40000", "--version", "0.2.0", "--security-counter", "auto",
         str(stub), str(unsigned)],
        check=True, capture_output=True,
    )  # fmt: skip
    with pytest.raises(ImageFormatError, match="not signed"):
        parse_image(unsigned.read_bytes())
    _sign(stub, tmp / "v001.bin", "0.0.1")
    _sign(stub, tmp / "v015.bin", "0.1.5")
    return Images(
        original=original,
        v020=v020,
        v020_path=v020_path,
        tampered=bytes(tampered),
        wrong_key=tmp / "wrong-key.bin",
        unsigned=unsigned.read_bytes(),
        v001=tmp / "v001.bin",
        v015=tmp / "v015.bin",
    )


def _boot(elf: Path, storage: Path, **kwargs: Any) -> QemuRunner:
    runner = QemuRunner(elf, storage_dir=storage, **kwargs)
    runner.start()
    try:
        _wait_ready(runner.cli_url)
    except BaseException:
        runner.stop()
        raise
    return runner


def _running(url: str) -> dict[str, Any]:
    """The running image as `info` reports it, with the build id."""
    info = _info(url)
    assert info["image"] is not None, info
    return {"build_id": info["build_id"], **info["image"]}


def _firmware_slots(url: str) -> dict[int, dict[str, Any]]:
    data = _cli("--port", url, "firmware", "state")
    return {s["slot"]: s for s in data["images"] if s["image"] == FIRMWARE_IMAGE}


# --- the device with an update uploaded and marked for test ------------------------------


@pytest.fixture(scope="module")
def pending_flash(
    firmware_elf: Path, images: Images, tmp_path_factory: pytest.TempPathFactory
) -> bytes:
    """Flash contents after `theraloop firmware push --no-reset` of 0.2.0 (test)."""
    storage = tmp_path_factory.mktemp("pending")
    runner = _boot(firmware_elf, storage)
    try:
        pushed = _cli("--port", runner.cli_url, "firmware", "push", "--no-reset",
                      str(images.v020_path))  # fmt: skip
        assert pushed["reset"] is False and pushed["new"] is None
        slot1 = next(s for s in pushed["states"] if s["image"] == 0 and s["slot"] == 1)
        assert slot1["hash"] == images.v020.hash.hex()
        assert slot1["pending"] is True and slot1["permanent"] is False
    finally:
        runner.stop()  # SIGTERM: a clean power-off, the flash file is complete
    return (storage / FLASH_FILE_NAME).read_bytes()


def _storage_from(tmp_path: Path, flash: bytes) -> Path:
    storage = tmp_path / "flash"
    storage.mkdir()
    (storage / FLASH_FILE_NAME).write_bytes(flash)
    return storage


# --- 1. done when: push changes what info reports; confirm keeps it -----------------------


@dataclass
class Confirmed:
    runner: QemuRunner
    before: dict[str, Any]
    pushed: dict[str, Any]
    after_push: dict[str, Any]
    confirmed: dict[str, Any]


@pytest.fixture(scope="module")
def confirmed_device(
    firmware_elf: Path, images: Images, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Confirmed]:
    """A device updated with `firmware push` (test boot) and `firmware confirm`."""
    runner = _boot(firmware_elf, tmp_path_factory.mktemp("confirmed"))
    try:
        url = runner.cli_url
        before = _running(url)
        pushed = _cli("--port", url, "firmware", "push", str(images.v020_path))
        after_push = _running(url)
        confirmed = _cli("--port", url, "firmware", "confirm")
        yield Confirmed(runner, before, pushed, after_push, confirmed)
        runner.check_running()
    finally:
        runner.stop()


def test_push_changes_version_and_confirm_keeps_it_across_reset(
    confirmed_device: Confirmed, images: Images
) -> None:
    d = confirmed_device
    url = d.runner.cli_url
    assert d.before["version"] == "0.1.0"
    assert d.before["hash"] == images.original.hash.hex()
    assert d.before["confirmed"] is True
    # push: uploaded, test-booted, and the device says so
    assert d.pushed["updated"] is True and d.pushed["mode"] == "test"
    assert d.pushed["upload"]["bytes"] == images.v020.size and d.pushed["upload"]["match"]
    assert d.pushed["old"]["image_version"] == "0.1.0"
    assert d.pushed["new"]["image_version"] == "0.2.0"
    assert d.after_push["version"] == "0.2.0"
    assert d.after_push["hash"] == images.v020.hash.hex()
    assert d.after_push["build_id"] != d.before["build_id"]
    assert d.after_push["boot"] == "swapped_test" and d.after_push["confirmed"] is False
    # confirm: slot 0 confirmed, slot 1 no longer pending
    slots = {s["slot"]: s for s in d.confirmed["images"] if s["image"] == FIRMWARE_IMAGE}
    assert slots[0]["hash"] == images.v020.hash.hex() and slots[0]["confirmed"] is True
    assert slots[1]["pending"] is False
    # a reset keeps it, and the stored security counter is the image's
    assert _cli("--port", url, "reset", "--wait")["reset"] == "accepted"
    kept = _running(url)
    assert kept["version"] == "0.2.0" and kept["hash"] == images.v020.hash.hex()
    assert kept["build_id"] == d.after_push["build_id"]
    assert kept["confirmed"] is True and kept["boot"] == "none"
    assert kept["security_counter"] == images.v020.security_counter == 0x0002_0000
    assert _dsp(url) is False  # the portable engine really runs
    # and it survives a power cycle (QEMU restarted on the same flash file)
    d.runner.stop()
    d.runner.start()
    _wait_ready(d.runner.cli_url)
    assert _running(d.runner.cli_url) == {**kept, "boot": "none"}


def test_rollback_below_the_confirmed_security_counter_is_refused(
    confirmed_device: Confirmed, images: Images
) -> None:
    url = confirmed_device.runner.cli_url
    before = _running(url)
    assert before["version"] == "0.2.0" and before["security_counter"] == 0x0002_0000
    code, err = _cli_fails("--port", url, "firmware", "push", str(images.v015))
    assert code == 1
    assert "CURRENT_VERSION_IS_NEWER" in err and "rc 27" in err
    # the security counter decides (0.1.5: 0x10005 < the confirmed 0x20000)
    reason = _info(url)["image"]["last_error"]
    assert reason == "image: rollback: security counter below 131072"
    _cli("--port", url, "reset", "--wait")
    assert _running(url) == {**before, "last_error": "", "boot": "none"}


# --- 2. an unconfirmed test image is reverted at the next reset ---------------------------


def test_unconfirmed_update_is_reverted_after_reset(
    firmware_elf: Path, images: Images, pending_flash: bytes, tmp_path: Path
) -> None:
    runner = _boot(firmware_elf, _storage_from(tmp_path, pending_flash))
    try:
        url = runner.cli_url
        testing = _running(url)
        assert testing["version"] == "0.2.0" and testing["hash"] == images.v020.hash.hex()
        assert testing["boot"] == "swapped_test" and testing["confirmed"] is False
        assert _dsp(url) is False
        slots = _firmware_slots(url)
        assert slots[1]["hash"] == images.original.hash.hex() and slots[1]["confirmed"]
        # no confirm: the next reset goes back
        _cli("--port", url, "reset", "--wait")
        back = _running(url)
        assert back["version"] == "0.1.0" and back["hash"] == images.original.hash.hex()
        assert back["boot"] == "reverted" and back["confirmed"] is True
        assert back["build_id"] != testing["build_id"]
        assert _dsp(url) is True
        assert _firmware_slots(url)[1]["hash"] == images.v020.hash.hex()
        # and it stays there
        _cli("--port", url, "reset", "--wait")
        assert _running(url) == {**back, "boot": "none"}
        runner.check_running()
    finally:
        runner.stop()


# --- 3. refused images: specific error, the old firmware keeps running --------------------


@pytest.fixture(scope="module")
def plain_device(firmware_elf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    runner = _boot(firmware_elf, tmp_path_factory.mktemp("plain"))
    try:
        yield runner.cli_url
        runner.check_running()
    finally:
        runner.stop()


def _assert_unchanged_after_reset(url: str, before: dict[str, Any]) -> None:
    _cli("--port", url, "reset", "--wait")
    after = _running(url)
    assert after == {**before, "last_error": "", "boot": "none"}
    assert after["version"] == "0.1.0" and after["confirmed"] is True
    assert _dsp(url) is True


@pytest.mark.parametrize(
    ("case", "name", "rc", "reason"),
    [
        ("wrong_key", "INVALID_TLV", 5, "image: key"),
        ("v001", "CURRENT_VERSION_IS_NEWER", 27, "older"),
    ],
)
def test_cli_push_refused_by_the_device(
    plain_device: str, images: Images, case: str, name: str, rc: int, reason: str
) -> None:
    before = _running(plain_device)
    code, err = _cli_fails("--port", plain_device, "firmware", "push", str(getattr(images, case)))
    assert code == 1
    assert f"device returned error {name} (group 1, rc {rc})" in err
    assert _info(plain_device)["image"]["last_error"].startswith(reason)
    _assert_unchanged_after_reset(plain_device, before)


@pytest.mark.parametrize(
    ("case", "name", "reason"),
    [
        ("unsigned", "INVALID_TLV", "image: unsigned"),
        ("tampered", "INVALID_HASH", "image: hash"),
    ],
)
def test_upload_refused_by_the_device(
    plain_device: str, images: Images, case: str, name: str, reason: str
) -> None:
    """Images the CLI would refuse itself, sent with the update client's upload."""
    data = images.tampered if case == "tampered" else images.unsigned
    before = _running(plain_device)
    with Device(plain_device, timeout=3.0) as dev:
        with pytest.raises(DeviceError) as refused:
            upload(dev, data, image=FIRMWARE_IMAGE)
        assert refused.value.name == name
        # what the slot now holds cannot be requested for a boot either
        with pytest.raises(DeviceError):
            set_image_state(dev, _hash_tlv(data), confirm=False)
        assert not any(s.pending for s in image_states(dev))
    assert _info(plain_device)["image"]["last_error"] == reason
    _assert_unchanged_after_reset(plain_device, before)


# --- 4. power cuts while the bootloader swaps ---------------------------------------------


def _boot_lines(
    runner: QemuRunner, stop: Callable[[list[str]], bool], timeout: float = BOOT_TIMEOUT_S
) -> list[str]:
    """Start `runner` (halted under its GDB stub) with a client on the CLI port before
    the first instruction, let it run and collect lines until `stop(lines)` is true."""
    runner.start()
    host, port = parse_address(runner.cli_url.removeprefix("socket://"))
    gdb_address = runner.gdb_address
    assert gdb_address is not None
    lines: list[str] = []
    with socket.create_connection((host, port), timeout=5.0) as sock:
        with GdbClient(*parse_address(gdb_address)) as gdb:
            gdb.detach()
        buf = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
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
                lines.append(raw.decode("utf-8", "replace").strip())
                if stop(lines):
                    return lines
    raise AssertionError(f"bootloader/app lines ended without the expected one: {lines}")


def _swap_lines(lines: list[str]) -> list[re.Match[str]]:
    return [m for line in lines if (m := SWAP_LINE_RE.match(line)) is not None]


def _phase_index(m: re.Match[str]) -> int:
    return (int(m.group(1)) - 1) * 3 + int(m.group(2))


@pytest.mark.parametrize(
    ("k", "delay_s", "k_again"),
    [(1, 0.0, 0), (2, 0.0, 0), (3, 0.004, 0), (4, 0.0, 0), (5, 0.004, 0), (6, 0.0, 0),
     (2, 0.0, 2)],
)  # fmt: skip
def test_power_cut_during_swap_resumes_and_boots_the_new_image(
    firmware_elf: Path,
    images: Images,
    pending_flash: bytes,
    tmp_path: Path,
    k: int,
    delay_s: float,
    k_again: int,
) -> None:
    """Cut after the k-th swap line (and, with k_again, once more during the recovery)."""
    storage = _storage_from(tmp_path, pending_flash)
    runner = QemuRunner(firmware_elf, storage_dir=storage, gdb=True)
    try:
        # the cut: right after the k-th "boot: swap test i/2 phase p" line (+ delay)
        def cut_after(n: int) -> Callable[[list[str]], bool]:
            def cut(lines: list[str]) -> bool:
                if len(_swap_lines(lines)) < n:
                    return False
                time.sleep(delay_s)
                runner.power_cut()
                return True

            return cut

        first = _boot_lines(runner, cut_after(k))
        assert "boot: update test to version 0.2.0+0" in first
        assert not any(BANNER_RE.match(line) for line in first)
        if k_again:
            again = _boot_lines(runner, cut_after(k_again))
            assert "boot: resume swap test" in again
            assert not any(BANNER_RE.match(line) for line in again)
        # power back: the bootloader resumes where the state store says and finishes
        second = _boot_lines(runner, lambda lines: bool(BANNER_RE.match(lines[-1])))
        assert "boot: resume swap test" in second, (first, second)  # the cut was mid-swap
        resumed = _swap_lines(second)
        assert resumed, second
        # it resumes at the phase it was in (or later, if that one was already committed)
        assert _phase_index(resumed[0]) >= k - 1, (first, second)
        assert "boot: swap done resumed" in second or "boot: swap done swapped_test" in second
        assert "boot: check fw_primary ok version 0.2.0+0" in " ".join(second)
        url = runner.cli_url
        _wait_ready(url)
        new = _running(url)
        assert new["version"] == "0.2.0" and new["hash"] == images.v020.hash.hex()
        assert new["boot"] == "resumed" and new["confirmed"] is False
        assert _dsp(url) is False
        # the old image is complete in fw_secondary: the bootloader checks it in full
        # before the revert the next reset makes
        assert _firmware_slots(url)[1]["hash"] == images.original.hash.hex()
        _cli("--port", url, "reset", "--wait")
        back = _running(url)
        assert back["hash"] == images.original.hash.hex() and back["boot"] == "reverted"
        runner.check_running()
    finally:
        runner.stop()


# --- 5. smpclient unchanged: upload, state read/write (test) over a pty -------------------


def test_smpclient_upload_and_image_state_over_a_pty(
    firmware_elf: Path, images: Images, tmp_path: Path
) -> None:
    runner = _boot(firmware_elf, tmp_path, cli_pty=True)
    try:
        port = runner.cli_url
        assert port.startswith("/dev/")

        async def session() -> tuple[list[Any], list[Any]]:
            async with SMPClient(SMPSerialTransport(), port, timeout_s=5.0) as client:
                offsets = [off async for off in client.upload(images.v020.data, slot=0)]
                assert offsets[-1] == images.v020.size
                read = await client.request(ImageStatesRead())
                assert success(read), read
                written = await client.request(
                    ImageStatesWrite(hash=images.v020.hash, confirm=False)
                )
                assert success(written), written
                reset = await client.request(ResetWrite())
                assert success(reset), reset
                return list(read.images), list(written.images)

        read, written = asyncio.run(session())
        by_slot = {(s.image, s.slot): s for s in read}
        assert by_slot[(0, 0)].hash == images.original.hash and by_slot[(0, 0)].active
        assert by_slot[(0, 1)].hash == images.v020.hash and not by_slot[(0, 1)].pending
        after = {(s.image, s.slot): s for s in written}
        assert after[(0, 1)].pending and not after[(0, 1)].permanent
        # the reset installed it for a test boot
        _wait_ready(port)
        new = _running(port)
        assert new["hash"] == images.v020.hash.hex() and new["boot"] == "swapped_test"
        runner.check_running()
    finally:
        runner.stop()


# --- 7. the verification cost ---------------------------------------------------------------


def test_bench_verify_reports_the_boot_check_cost(firmware_elf: Path, images: Images) -> None:
    data = _cli("bench", "verify", "--elf", str(firmware_elf))
    assert data["area"] == "fw_primary" and data["result"] == "ok"
    assert data["version"] == "0.1.0+0" and data["app_version"] == "0.1.0"
    # bytes hashed: header + payload + protected TLVs of the image the device runs
    protected = len(images.original.data) - images.original.header_size
    assert images.original.header_size + images.original.payload_size <= data["bytes"]
    assert data["bytes"] <= images.original.header_size + protected
    assert data["total_cycles"] == data["sha256_cycles"] + data["ed25519_cycles"]
    assert data["line"].startswith("boot: check fw_primary ok version 0.1.0+0")
    assert f"sha256 {data['systick_ticks']['sha256']} cycles" in data["line"]
    per_tick = data["instructions_per_tick"]
    assert data["sha256_cycles"] == pytest.approx(
        data["systick_ticks"]["sha256"] * per_tick, rel=1e-4
    )
    assert data["sha256_cycles_per_byte"] == round(data["sha256_cycles"] / data["bytes"], 2)
    assert data["ms_at_168mhz"]["total"] == pytest.approx(data["total_cycles"] / 168e3, abs=0.002)
    # -icount makes the count deterministic: a second run gives the same numbers
    again = _cli("bench", "verify", "--elf", str(firmware_elf))
    assert (again["sha256_cycles"], again["ed25519_cycles"]) == (
        data["sha256_cycles"],
        data["ed25519_cycles"],
    )


def test_bench_verify_cycles_are_plausible_for_a_cortex_m4(firmware_elf: Path) -> None:
    data = _cli("bench", "verify", "--elf", str(firmware_elf))
    # a C SHA-256 on a Cortex-M4 takes some 30-120 cycles per byte, Ed25519 verify 1-20 M
    assert 30 <= data["sha256_cycles_per_byte"] <= 120, data
    assert 1_000_000 <= data["ed25519_cycles"] <= 20_000_000, data
