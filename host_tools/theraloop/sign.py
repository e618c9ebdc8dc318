"""`theraloop sign IMAGE --key KEY`: an MCUboot image signed with Ed25519, via imgtool.

imgtool (MCUboot's own tool) does the signing; this command fixes the project's
defaults so that every firmware and model image has the layout the device expects
(docs/storage.md, storage/flash_map.h): firmware a 0x200-byte header (the application
is linked at fw_primary + 0x200) in a 0x40000-byte slot, models a 0x20-byte header in a
0x20000-byte slot (`--pad-header` either way), write alignment 4, a security counter
(default: derived from the version, imgtool's `auto`), and `--non-bootable` for models
(`.tflite`). It checks the key
first (exists, is an Ed25519 private key) so that the usual mistakes give one clear
line, and verifies the result with imgtool's own verifier before reporting it.
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.errors import UsageError
from theraloop.update.image import (
    FIRMWARE_HEADER_SIZE,
    FIRMWARE_SLOT_SIZE,
    MODEL_HEADER_SIZE,
    MODEL_SLOT_SIZE,
)

HEADER_SIZE: Final = MODEL_HEADER_SIZE
"""Header of a model image (kept for callers of the first layout)."""
_SECURITY_COUNTER_MAX: Final = 0xFFFF_FFFF

ALIGN: Final = 4
IMAGE_MAGIC: Final = 0x96F3B83D
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
TLV_SHA256: Final = 0x10
TLV_ED25519: Final = 0x24
IMAGE_F_NON_BOOTABLE: Final = 0x10
_VERSION_RE: Final = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:\+(\d+))?$")
_HEADER: Final = struct.Struct("<IIHHIIBBHII")


@dataclass(frozen=True)
class SignedImage:
    path: Path
    size: int
    payload_bytes: int
    version: str
    sha256: str
    bootable: bool
    slot_size: int
    tlvs: tuple[int, ...]
    header_size: int = MODEL_HEADER_SIZE
    security_counter: int | None = None


def check_security_counter(text: str) -> str:
    """`auto` or an integer 0..0xffffffff (any base prefix): the value imgtool gets."""
    if text.lower() == "auto":
        return "auto"
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(
            f"invalid security counter {text!r}: expected auto or a number (e.g. 3, 0x10)"
        ) from None
    if not 0 <= value <= _SECURITY_COUNTER_MAX:
        raise UsageError(f"security counter {text} out of range (0..0xffffffff)")
    return str(value)


def _check_version(text: str) -> str:
    m = _VERSION_RE.match(text)
    if m is None:
        raise UsageError(f"invalid version {text!r}: expected MAJOR.MINOR.REVISION[+BUILD]")
    major, minor, rev, build = (int(g) if g else 0 for g in m.groups())
    if major > 0xFF or minor > 0xFF or rev > 0xFFFF or build > 0xFFFF_FFFF:
        raise UsageError(f"version {text} out of range (255.255.65535+4294967295)")
    return text


check_version = _check_version
"""`X.Y.Z[+B]` within MCUboot's ranges, else `UsageError`."""


def _check_key(key: Path) -> None:
    try:
        pem = key.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read key {key}: {exc.strerror or exc}") from exc
    try:
        private = load_pem_private_key(pem, password=None)
    except TypeError as exc:
        raise UsageError(f"key {key} is encrypted; use an unencrypted key") from exc
    except ValueError as exc:
        raise UsageError(
            f"key {key} is not a PEM private key (make one: imgtool keygen -t ed25519 -k KEY)"
        ) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise UsageError(
            f"key {key} is a {type(private).__name__.removeprefix('_')} key; theraloop "
            "images are signed with Ed25519 (imgtool keygen -t ed25519 -k KEY)"
        )


def _tlv_types(data: bytes, offset: int) -> tuple[int, ...]:
    """TLV types of the protected (if any) and unprotected TLV areas from `offset`."""
    types: list[int] = []
    while offset + 4 <= len(data):
        magic, total = struct.unpack_from("<HH", data, offset)
        if magic not in (TLV_INFO_MAGIC, TLV_PROT_INFO_MAGIC) or offset + total > len(data):
            raise UsageError("imgtool wrote an image with an invalid TLV area")
        pos, end = offset + 4, offset + total
        while pos + 4 <= end:
            kind, length = struct.unpack_from("<BxH", data, pos)
            types.append(kind)
            pos += 4 + length
        if pos != end:
            raise UsageError("imgtool wrote an image with an invalid TLV area")
        offset = end
    return tuple(types)


def sign_image(
    image: Path,
    key: Path,
    out: Path,
    *,
    version: str = "0.0.0",
    slot_size: int | None = None,
    header_size: int | None = None,
    non_bootable: bool | None = None,
    security_counter: str = "auto",
) -> SignedImage:
    """Sign `image` into `out`; raises `UsageError` with one clear line on failure."""
    from imgtool.image import Image as ImgtoolImage
    from imgtool.image import VerifyResult
    from imgtool.keys import load as load_key

    _check_version(version)
    counter = check_security_counter(security_counter)
    if not image.is_file():
        raise UsageError(f"image {image} not found")
    _check_key(key)
    is_model = image.suffix.lower() == ".tflite"
    non_bootable = is_model if non_bootable is None else non_bootable
    default_slot = MODEL_SLOT_SIZE if is_model else FIRMWARE_SLOT_SIZE
    slot = slot_size if slot_size is not None else default_slot
    default_header = MODEL_HEADER_SIZE if is_model else FIRMWARE_HEADER_SIZE
    header_size = header_size if header_size is not None else default_header
    payload = image.stat().st_size
    if payload == 0:
        raise UsageError(f"image {image} is empty")
    cmd = [
        sys.executable,
        "-m",
        "imgtool.main",
        "sign",
        "--key",
        str(key),
        "--header-size",
        str(header_size),
        "--pad-header",
        "--align",
        str(ALIGN),
        "--version",
        version,
        "--slot-size",
        str(slot),
        "--security-counter",
        counter,
    ]
    if non_bootable:
        cmd.append("--non-bootable")
    cmd += [str(image), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        # imgtool prints progress on stdout and click's "Error: ..." line on stderr.
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("Error:")] or lines
        reason = errors[-1].removeprefix("Error: ") if errors else f"exit {proc.returncode}"
        if "exceeds" in reason or "too large" in reason.lower() or "Image size" in reason:
            reason = f"image too big for the {slot:#x}-byte slot ({payload:,} bytes): {reason}"
        raise UsageError(f"imgtool sign failed: {reason}")
    result, _version, digest, _sig = ImgtoolImage.verify(str(out), load_key(str(key)))
    if result != VerifyResult.OK or digest is None:
        raise UsageError(f"signed image {out} does not verify ({result.name})")
    data = out.read_bytes()
    (magic, _load, hdr_size, _prot, img_size, flags, major, minor, rev, build, _pad) = (
        _HEADER.unpack_from(data, 0)
    )
    if magic != IMAGE_MAGIC or hdr_size != header_size:
        raise UsageError(f"imgtool wrote an unexpected header to {out}")
    if len(data) > slot:
        raise UsageError(f"signed image ({len(data):,} bytes) is bigger than the {slot:#x} slot")
    from theraloop.update.image import parse_image

    parsed = parse_image(data, str(out))
    return SignedImage(
        path=out,
        size=len(data),
        payload_bytes=img_size,
        version=f"{major}.{minor}.{rev}+{build}",
        sha256=bytes(digest).hex(),
        bootable=not flags & IMAGE_F_NON_BOOTABLE,
        slot_size=slot,
        tlvs=_tlv_types(data, hdr_size + img_size),
        header_size=hdr_size,
        security_counter=parsed.security_counter,
    )


def _number(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number (e.g. 0x10000)") from None
    if number <= 0:
        raise click.BadParameter("must be > 0")
    return number


@click.command()
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-k",
    "--key",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Ed25519 private key (PEM, from `imgtool keygen -t ed25519`).",
)
@click.option(
    "-o",
    "--output",
    "out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Signed image to write.",
)
@click.option(
    "--version",
    "version",
    default="0.0.0",
    show_default=True,
    metavar="X.Y.Z[+B]",
    help="Image version (anti-rollback compares it).",
)
@click.option(
    "--slot-size",
    callback=_number,
    metavar="N",
    help=f"Slot size. [default: {FIRMWARE_SLOT_SIZE:#x} firmware, "
    f"{MODEL_SLOT_SIZE:#x} .tflite model]",
)
@click.option(
    "--header-size",
    callback=_number,
    metavar="N",
    help="MCUboot header size (zero-padded in front of the payload). "
    f"[default: {FIRMWARE_HEADER_SIZE:#x} firmware, {MODEL_HEADER_SIZE:#x} .tflite model]",
)
@click.option(
    "--security-counter",
    default="auto",
    show_default=True,
    metavar="N|auto",
    help="Security counter TLV (anti-rollback); auto: (major << 24) + (minor << 16) + "
    "revision of --version.",
)
@click.option(
    "--non-bootable",
    is_flag=True,
    default=None,
    help="Mark the image non-bootable (automatic for .tflite models).",
)
@json_option
@pass_state
def sign(
    state: CliState,
    image: Path,
    key: Path,
    out: Path,
    version: str,
    slot_size: int | None,
    header_size: int | None,
    non_bootable: bool | None,
    security_counter: str,
) -> None:
    """Sign IMAGE (.bin firmware or .tflite model) as an MCUboot image with Ed25519."""
    signed = sign_image(
        image,
        key,
        out,
        version=version,
        slot_size=slot_size,
        header_size=header_size,
        non_bootable=non_bootable or None,
        security_counter=security_counter,
    )
    state.emit(
        {
            "output": str(signed.path),
            "bytes": signed.size,
            "payload_bytes": signed.payload_bytes,
            "version": signed.version,
            "sha256": signed.sha256,
            "bootable": signed.bootable,
            "slot_size": signed.slot_size,
            "header_size": signed.header_size,
            "security_counter": signed.security_counter,
            "tlvs": [f"{t:#04x}" for t in signed.tlvs],
        },
        human=(
            f"signed {image.name} -> {out} ({signed.size:,} bytes, version {signed.version}, "
            f"{'bootable' if signed.bootable else 'non-bootable'}, sha256 {signed.sha256[:16]}...)"
        ),
    )
