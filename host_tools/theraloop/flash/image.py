"""Firmware images to program: an ELF's PT_LOAD segments, or a raw/signed binary.

The ELF reader is deliberately small and strict: 32-bit little-endian ARM executables
only, every header and segment bounds-checked against the file, no overlapping
segments. Segments are placed at their physical (load) address, which is where a
debugger or a flash programmer must write them.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from theraloop.errors import UsageError

DEFAULT_BASE: Final = 0x0800_0000
"""Where a raw binary goes when no --base is given: STM32F4 flash."""

MCUBOOT_MAGIC: Final = 0x96F3_B83D
"""First word of an MCUboot (imgtool-signed) image."""

_ELF_MAGIC: Final = b"\x7fELF"
_ELFCLASS32: Final = 1
_ELFDATA2LSB: Final = 1
_EM_ARM: Final = 40
_ET_EXEC: Final = 2
_PT_LOAD: Final = 1
_EHDR: Final = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR: Final = struct.Struct("<IIIIIIII")
_ADDR_LIMIT: Final = 1 << 32


@dataclass(frozen=True)
class Segment:
    """Bytes to place at `address`."""

    address: int
    data: bytes

    @property
    def end(self) -> int:
        return self.address + len(self.data)


@dataclass(frozen=True)
class Image:
    """A loadable image: its segments in address order and what kind of file it was."""

    path: Path
    kind: str
    """"elf", "bin" or "signed" (an MCUboot image: header magic 0x96f3b83d)."""
    segments: tuple[Segment, ...]

    @property
    def size(self) -> int:
        return sum(len(s.data) for s in self.segments)

    @property
    def base(self) -> int:
        return self.segments[0].address

    def vector_table(self) -> tuple[int, int]:
        """(initial SP, reset handler) from the first two words at the image base.

        For a signed image the vector table follows the MCUboot header, which only a
        bootloader can skip; asking for it is an error.
        """
        if self.kind == "signed":
            raise UsageError(
                f"{self.path} is a signed MCUboot image: it starts with a header, not a "
                "vector table (flash it below a bootloader, or use --no-reset)"
            )
        first = self.segments[0]
        if len(first.data) < 8:
            raise UsageError(f"{self.path}: first segment too short for a vector table")
        sp, pc = struct.unpack_from("<II", first.data, 0)
        return sp, pc


def load_image(path: Path, *, base: int | None = None) -> Image:
    """Read an ELF (by its magic) or a binary (placed at `base`, default 0x08000000)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    if raw.startswith(_ELF_MAGIC):
        if base is not None:
            raise UsageError(f"--base applies to a binary image; {path} is an ELF file")
        return Image(path, "elf", parse_elf(raw, str(path)))
    if not raw:
        raise UsageError(f"image {path} is empty")
    address = DEFAULT_BASE if base is None else base
    if not 0 <= address < _ADDR_LIMIT or address + len(raw) > _ADDR_LIMIT:
        raise UsageError(f"image {path} does not fit the 32-bit address space at {address:#x}")
    signed = len(raw) >= 4 and struct.unpack_from("<I", raw)[0] == MCUBOOT_MAGIC
    kind = "signed" if signed else "bin"
    return Image(path, kind, (Segment(address, raw),))


def parse_elf(raw: bytes, name: str = "image") -> tuple[Segment, ...]:
    """The non-empty PT_LOAD segments of a 32-bit little-endian ARM ELF executable."""

    def bad(why: str) -> UsageError:
        return UsageError(f"{name}: not a loadable ARM ELF image: {why}")

    if len(raw) < _EHDR.size:
        raise bad("file shorter than an ELF header")
    (
        ident,
        e_type,
        e_machine,
        _ver,
        _entry,
        e_phoff,
        _shoff,
        _flags,
        e_ehsize,
        e_phentsize,
        e_phnum,
        _shentsize,
        _shnum,
        _shstrndx,
    ) = _EHDR.unpack_from(raw, 0)
    if ident[4] != _ELFCLASS32 or ident[5] != _ELFDATA2LSB:
        raise bad("only 32-bit little-endian ELF files are supported")
    if e_machine != _EM_ARM:
        raise bad(f"machine {e_machine} is not ARM")
    if e_type != _ET_EXEC:
        raise bad(f"type {e_type} is not an executable")
    if e_ehsize < _EHDR.size or e_phentsize < _PHDR.size or e_phnum == 0:
        raise bad("invalid header sizes or no program headers")
    if e_phoff + e_phnum * e_phentsize > len(raw):
        raise bad("program header table outside the file")
    segments: list[Segment] = []
    for i in range(e_phnum):
        (p_type, p_offset, _vaddr, p_paddr, p_filesz, _memsz, _pflags, _align) = _PHDR.unpack_from(
            raw, e_phoff + i * e_phentsize
        )
        if p_type != _PT_LOAD or p_filesz == 0:
            continue
        if p_offset + p_filesz > len(raw):
            raise bad(f"segment {i} data outside the file")
        if p_paddr + p_filesz > _ADDR_LIMIT:
            raise bad(f"segment {i} outside the 32-bit address space")
        segments.append(Segment(p_paddr, raw[p_offset : p_offset + p_filesz]))
    if not segments:
        raise bad("no loadable segment")
    segments.sort(key=lambda s: s.address)
    for prev, cur in itertools.pairwise(segments):
        if cur.address < prev.end:
            raise bad(f"segments at {prev.address:#x} and {cur.address:#x} overlap")
    return tuple(segments)
