"""The emulated device's flash: one 1 MiB file that QEMU boots from and the firmware
writes through semihosting (docs/storage.md, firmware/boards/stm32f4/storage_stm32f4.c).

An application ELF is linked into the `fw_primary` slot behind the bootloader, so a fresh
flash file is composed like a factory-programmed device:

    0x00000  the bootloader (theraloop_bootloader.bin)
    0x20000  the signed application (<elf stem>.signed.bin, made by the build)
    elsewhere erased (0xFF)

An ELF linked at the start of flash (the board self-test) runs on its own: no flash file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from theraloop.errors import EmulatorError, UsageError
from theraloop.flash.image import load_image

FLASH_BASE: Final = 0x0800_0000
FLASH_SIZE: Final = 0x10_0000
FW_PRIMARY_OFFSET: Final = 0x2_0000
FW_SLOT_SIZE: Final = 0x4_0000
BOOTLOADER_SIZE: Final = 0x8000
FLASH_FILE_NAME: Final = "theraloop-flash.bin"
"""The name the firmware opens (relative to QEMU's working directory)."""
BOOTLOADER_NAME: Final = "theraloop_bootloader.bin"


def is_standalone(elf: Path) -> bool:
    """True for an image linked at the start of flash (runs without the bootloader), and
    for a file that is no ARM ELF at all: QEMU's `-kernel` then reports it in its words."""
    try:
        return load_image(elf).base == FLASH_BASE
    except UsageError:
        return True


def signed_image_for(elf: Path) -> Path:
    """The signed MCUboot image the build made next to an application ELF."""
    signed = elf.with_name(elf.name.removesuffix(".elf") + ".signed.bin")
    if not signed.is_file():
        raise EmulatorError(
            f"{signed} not found (the signed image of {elf.name}); run `make firmware`"
        )
    return signed


def _build_root(elf: Path) -> Path | None:
    for parent in elf.resolve().parents:
        if (parent / "CMakeCache.txt").is_file():
            return parent
    return None


def bootloader_for(elf: Path) -> Path:
    """The bootloader binary of the build tree the ELF belongs to."""
    root = _build_root(elf)
    if root is not None:
        found = sorted(root.glob(f"firmware/bootloader/**/{BOOTLOADER_NAME}"))
        if found:
            return found[0]
    raise EmulatorError(
        f"{BOOTLOADER_NAME} not found in the build tree of {elf}; run `make firmware`"
    )


def compose(bootloader: bytes, signed_app: bytes) -> bytes:
    """A factory-fresh flash: bootloader at 0, the signed application in fw_primary."""
    if len(bootloader) > BOOTLOADER_SIZE:
        raise EmulatorError(f"bootloader is {len(bootloader)} bytes, its area {BOOTLOADER_SIZE}")
    if len(signed_app) > FW_SLOT_SIZE:
        raise EmulatorError(
            f"signed application is {len(signed_app)} bytes, the slot {FW_SLOT_SIZE}"
        )
    flash = bytearray(b"\xff" * FLASH_SIZE)
    flash[: len(bootloader)] = bootloader
    flash[FW_PRIMARY_OFFSET : FW_PRIMARY_OFFSET + len(signed_app)] = signed_app
    return bytes(flash)


def prepare(elf: Path, directory: Path, *, bootloader: Path | None = None) -> Path:
    """The flash file for running `elf` in `directory`: kept if it exists (a device that
    was already used), composed from the build's bootloader and signed image otherwise."""
    path = directory / FLASH_FILE_NAME
    if path.is_file() and path.stat().st_size == FLASH_SIZE:
        return path
    boot = bootloader if bootloader is not None else bootloader_for(elf)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compose(boot.read_bytes(), signed_image_for(elf).read_bytes()))
    return path
