"""Signed MCUboot images on the host: parse, check locally, and prepare for an upload.

An image is a 32-byte header (zero-padded to `header_size`), the payload, an optional
protected TLV area (magic 0x6908: the security counter) and the TLV area (magic 0x6907:
the SHA-256 "image hash" of header + payload + protected TLVs, the key hash and the
Ed25519 signature). The hash TLV is what the device reports and what an image state
write names.

`prepare_model_image` and `prepare_firmware_image` turn what a user passes to `theraloop
model push` / `theraloop firmware push` into a checked signed image: a signed file is
parsed and checked, anything else is signed first (sign.py) with the project's layout.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from theraloop.errors import UsageError

IMAGE_MAGIC: Final = 0x96F3B83D
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
TLV_SHA256: Final = 0x10
TLV_KEYHASH: Final = 0x01
TLV_ED25519: Final = 0x24
TLV_SEC_CNT: Final = 0x50
IMAGE_F_NON_BOOTABLE: Final = 0x10

FLASH_BASE: Final = 0x0800_0000
FIRMWARE_HEADER_SIZE: Final = 0x200
FIRMWARE_SLOT_SIZE: Final = 0x40000
"""fw_primary / fw_secondary: 256 KiB each (STM32F4 sectors 5-6 and 7-8)."""
FIRMWARE_PRIMARY_OFFSET: Final = 0x20000
FIRMWARE_LOAD_ADDRESS: Final = FLASH_BASE + FIRMWARE_PRIMARY_OFFSET + FIRMWARE_HEADER_SIZE
"""Where the application is linked: fw_primary + the 0x200-byte header (0x08020200)."""
MODEL_HEADER_SIZE: Final = 0x20
MODEL_SLOT_SIZE: Final = 0x20000
"""model_a / model_b: one 128 KiB sector each."""

_HEADER: Final = struct.Struct("<IIHHIIBBHII")
_TFLITE_ID: Final = b"TFL3"
_ELF_MAGIC: Final = b"\x7fELF"


class ImageFormatError(UsageError):
    """A file that should be a signed image is not one, or not the right kind."""


@dataclass(frozen=True)
class SignedImageFile:
    """A parsed signed image (the whole file in `data`)."""

    name: str
    data: bytes
    header_size: int
    load_addr: int
    payload_size: int
    flags: int
    version: str
    protected_tlvs: tuple[tuple[int, bytes], ...]
    tlvs: tuple[tuple[int, bytes], ...]

    @property
    def bootable(self) -> bool:
        return not self.flags & IMAGE_F_NON_BOOTABLE

    @property
    def size(self) -> int:
        return len(self.data)

    def tlv(self, kind: int) -> bytes | None:
        for t, value in self.protected_tlvs + self.tlvs:
            if t == kind:
                return value
        return None

    @property
    def hash(self) -> bytes:
        """The image hash TLV (SHA-256 of header, payload and protected TLVs)."""
        value = self.tlv(TLV_SHA256)
        assert value is not None  # parse_image requires it
        return value

    @property
    def security_counter(self) -> int | None:
        value = self.tlv(TLV_SEC_CNT)
        return struct.unpack("<I", value)[0] if value is not None and len(value) == 4 else None

    @property
    def signed(self) -> bool:
        return self.tlv(TLV_ED25519) is not None

    @property
    def payload(self) -> bytes:
        return self.data[self.header_size : self.header_size + self.payload_size]


_Tlvs = list[tuple[int, bytes]]


def _tlv_area(data: bytes, offset: int, magic: int, name: str) -> tuple[_Tlvs, int]:
    if offset + 4 > len(data):
        raise ImageFormatError(f"{name}: TLV area missing (file truncated?)")
    found, total = struct.unpack_from("<HH", data, offset)
    if found != magic:
        raise ImageFormatError(f"{name}: bad TLV area magic {found:#06x} at {offset:#x}")
    end = offset + total
    if total < 4 or end > len(data):
        raise ImageFormatError(f"{name}: TLV area of {total} bytes runs past the end of the file")
    pos = offset + 4
    tlvs: list[tuple[int, bytes]] = []
    while pos < end:
        if pos + 4 > end:
            raise ImageFormatError(f"{name}: truncated TLV at {pos:#x}")
        kind, length = struct.unpack_from("<BxH", data, pos)
        if pos + 4 + length > end:
            raise ImageFormatError(f"{name}: TLV {kind:#04x} runs past its area")
        tlvs.append((kind, bytes(data[pos + 4 : pos + 4 + length])))
        pos += 4 + length
    return tlvs, end


def is_signed_image(data: bytes) -> bool:
    return len(data) >= 4 and struct.unpack_from("<I", data)[0] == IMAGE_MAGIC


def parse_image(data: bytes, name: str = "image") -> SignedImageFile:
    """Parse a signed image; checks the layout and that the hash TLV matches the content.

    Raises `ImageFormatError` (exit 2) with one line saying what is wrong.
    """
    if len(data) < _HEADER.size:
        raise ImageFormatError(f"{name}: {len(data)} bytes is too short for an MCUboot image")
    (magic, load, hdr_size, prot_size, img_size, flags, major, minor, rev, build, _pad) = (
        _HEADER.unpack_from(data, 0)
    )
    if magic != IMAGE_MAGIC:
        raise ImageFormatError(
            f"{name}: not a signed MCUboot image "
            f"(magic {magic:#010x}, expected {IMAGE_MAGIC:#010x})"
        )
    if hdr_size < _HEADER.size or hdr_size + img_size > len(data):
        raise ImageFormatError(
            f"{name}: header says {hdr_size:#x} + {img_size} bytes, file has {len(data)}"
        )
    offset = hdr_size + img_size
    protected: list[tuple[int, bytes]] = []
    if prot_size:
        protected, end = _tlv_area(data, offset, TLV_PROT_INFO_MAGIC, name)
        if end - offset != prot_size:
            raise ImageFormatError(f"{name}: protected TLV size does not match the header")
        offset = end
    tlvs, end = _tlv_area(data, offset, TLV_INFO_MAGIC, name)
    if any(b != 0xFF and b != 0 for b in data[end:]):
        raise ImageFormatError(f"{name}: {len(data) - end} unexpected bytes after the TLV area")
    image = SignedImageFile(
        name=name,
        data=bytes(data[:end]),
        header_size=hdr_size,
        load_addr=load,
        payload_size=img_size,
        flags=flags,
        version=f"{major}.{minor}.{rev}+{build}",
        protected_tlvs=tuple(protected),
        tlvs=tuple(tlvs),
    )
    digest = image.tlv(TLV_SHA256)
    if digest is None or len(digest) != 32:
        raise ImageFormatError(f"{name}: no SHA-256 image hash TLV")
    computed = hashlib.sha256(data[: hdr_size + img_size + prot_size]).digest()
    if computed != digest:
        raise ImageFormatError(f"{name}: image hash TLV does not match the content (corrupted)")
    if not image.signed:
        raise ImageFormatError(f"{name}: image is not signed (no Ed25519 signature TLV)")
    return image


def read_image(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageFormatError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not data:
        raise ImageFormatError(f"{path} is empty")
    return data


def check_model_image(image: SignedImageFile) -> SignedImageFile:
    """A model image: non-bootable, 0x20 header, fits a model slot."""
    if image.bootable:
        raise ImageFormatError(
            f"{image.name}: a bootable (firmware) image, not a model image: "
            "use `theraloop firmware push`"
        )
    if image.header_size != MODEL_HEADER_SIZE:
        raise ImageFormatError(
            f"{image.name}: header size {image.header_size:#x}, model images use "
            f"{MODEL_HEADER_SIZE:#x}"
        )
    if image.size > MODEL_SLOT_SIZE:
        raise ImageFormatError(
            f"{image.name}: {image.size:,} bytes do not fit a {MODEL_SLOT_SIZE:#x}-byte model slot"
        )
    if not image.payload[4:8] == _TFLITE_ID:
        raise ImageFormatError(f"{image.name}: the payload is not a .tflite model")
    return image


def check_firmware_image(image: SignedImageFile) -> SignedImageFile:
    """A firmware image: bootable, 0x200 header, fits fw_secondary."""
    if not image.bootable:
        raise ImageFormatError(
            f"{image.name}: a non-bootable (model) image, not firmware: use `theraloop model push`"
        )
    if image.header_size != FIRMWARE_HEADER_SIZE:
        raise ImageFormatError(
            f"{image.name}: header size {image.header_size:#x}, firmware images use "
            f"{FIRMWARE_HEADER_SIZE:#x}"
        )
    if image.size > FIRMWARE_SLOT_SIZE:
        raise ImageFormatError(
            f"{image.name}: {image.size:,} bytes do not fit the {FIRMWARE_SLOT_SIZE:#x}-byte "
            "firmware slot"
        )
    return image


@dataclass(frozen=True)
class SigningOptions:
    """How to sign a file that is not signed yet (None: the defaults)."""

    key: Path | None = None
    version: str | None = None
    security_counter: str | None = None

    @property
    def given(self) -> list[str]:
        names = {"--key": self.key, "--version": self.version}
        names["--security-counter"] = self.security_counter
        return [n for n, v in names.items() if v is not None]


def _refuse_signing_options(path: Path, opts: SigningOptions) -> None:
    if opts.given:
        raise UsageError(
            f"{path} is already signed: {', '.join(opts.given)} apply only to a file that "
            "is signed first"
        )


def _sign(src: Path, out: Path, opts: SigningOptions) -> SignedImageFile:
    from theraloop.paths import default_signing_key
    from theraloop.sign import sign_image

    key = opts.key if opts.key is not None else default_signing_key()
    sign_image(
        src,
        key,
        out,
        version=opts.version or "0.0.0",
        security_counter=opts.security_counter or "auto",
    )
    return parse_image(out.read_bytes(), str(out))


def prepare_model_image(path: Path, opts: SigningOptions, workdir: Path) -> SignedImageFile:
    """A signed model image from `path`: a signed image (checked) or a .tflite (signed)."""
    data = read_image(path)
    if is_signed_image(data):
        _refuse_signing_options(path, opts)
        return check_model_image(parse_image(data, str(path)))
    if data[4:8] != _TFLITE_ID:
        raise ImageFormatError(
            f"{path}: neither a signed model image nor a .tflite model (no TFL3 identifier)"
        )
    src = workdir / (path.stem + ".tflite")
    src.write_bytes(data)
    return check_model_image(_sign(src, workdir / (path.stem + ".signed.bin"), opts))


def elf_to_binary(path: Path, data: bytes) -> tuple[int, bytes]:
    """(base address, contiguous bytes) of an ELF's loadable segments, gaps as 0xFF."""
    from theraloop.flash.image import parse_elf

    segments = sorted(parse_elf(data, str(path)), key=lambda s: s.address)
    if not segments:
        raise ImageFormatError(f"{path}: no loadable segments")
    base = segments[0].address
    end = max(s.end for s in segments)
    if end - base > FIRMWARE_SLOT_SIZE:
        raise ImageFormatError(
            f"{path}: segments span {end - base:,} bytes from {base:#010x}; more than a "
            f"{FIRMWARE_SLOT_SIZE:#x}-byte slot (is it linked for the bootloader?)"
        )
    out = bytearray(b"\xff" * (end - base))
    for s in segments:
        out[s.address - base : s.end - base] = s.data
    return base, bytes(out)


def prepare_firmware_image(path: Path, opts: SigningOptions, workdir: Path) -> SignedImageFile:
    """A signed firmware image from `path`: signed (checked), or an ELF/bin (signed first).

    An ELF must be linked at 0x08020200 (fw_primary + header); a raw .bin is taken to be
    one, and its vector table's reset handler must lie in the slot.
    """
    data = read_image(path)
    if is_signed_image(data):
        _refuse_signing_options(path, opts)
        return check_firmware_image(parse_image(data, str(path)))
    if data.startswith(_ELF_MAGIC):
        base, binary = elf_to_binary(path, data)
        if base != FIRMWARE_LOAD_ADDRESS:
            raise ImageFormatError(
                f"{path} is linked at {base:#010x}, not {FIRMWARE_LOAD_ADDRESS:#010x} "
                "(fw_primary + 0x200 header): it cannot run under the bootloader"
            )
    else:
        binary = data
    if len(binary) < 8:
        raise ImageFormatError(f"{path}: too short for a vector table")
    reset = struct.unpack_from("<I", binary, 4)[0] & ~1
    if not FIRMWARE_LOAD_ADDRESS <= reset < FIRMWARE_LOAD_ADDRESS + len(binary):
        raise ImageFormatError(
            f"{path}: reset handler {reset:#010x} is outside the image at "
            f"{FIRMWARE_LOAD_ADDRESS:#010x}: not an application linked for the bootloader"
        )
    src = workdir / (path.stem + ".bin")
    src.write_bytes(binary)
    return check_firmware_image(_sign(src, workdir / (path.stem + ".signed.bin"), opts))
