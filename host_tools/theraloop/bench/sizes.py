"""Flash and RAM of a firmware image, and the inference engine's share of the flash.

Firmware totals come from the ELF file's own headers: flash is every byte the image
loads from flash (the `PT_LOAD` segments' file contents: code, constants and the initial
values of `.data`), RAM every allocated writable section (`.data`, `.bss`, `.noinit`).

The engine's size comes from the linker map (`-Wl,-Map`, with `-Wl,--cref` for the cross
reference table): the kept (not garbage-collected) `.text*`, `.rodata*` and `.data*`
input sections of the objects compiled from `firmware/core/src/nn/` (the loader, planner,
arithmetic and operator kernels), plus the toolchain library members (libgcc, libc) those
objects call, directly or through each other; shared ones such as `memcpy` are counted
in full. The SMP group that drives the engine (`src/smp/mgmt_nn*.c`) is reported apart.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from theraloop.errors import UsageError

# --- ELF ------------------------------------------------------------------------------------

_PT_LOAD: Final = 1
_SHF_WRITE: Final = 0x1
_SHF_ALLOC: Final = 0x2
_SHT_NOBITS: Final = 8


@dataclass(frozen=True)
class ElfSection:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int


@dataclass(frozen=True)
class ElfSegment:
    type: int
    offset: int
    vaddr: int
    paddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Elf:
    sections: tuple[ElfSection, ...]
    segments: tuple[ElfSegment, ...]


def read_elf(path: Path) -> Elf:
    """Section and program headers of a 32-bit little-endian ELF file (ARM firmware)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"{path}: cannot read: {e.strerror or e}") from e
    if len(data) < 52 or data[:4] != b"\x7fELF":
        raise UsageError(f"{path}: not an ELF file")
    if data[4] != 1 or data[5] != 1:
        raise UsageError(f"{path}: not a 32-bit little-endian ELF file")
    (phoff, shoff) = struct.unpack_from("<II", data, 28)
    (phentsize, phnum, shentsize, shnum, shstrndx) = struct.unpack_from("<HHHHH", data, 42)

    def table(off: int, size: int, count: int) -> list[int]:
        if off + size * count > len(data) or (count and size < 32):
            raise UsageError(f"{path}: truncated ELF headers")
        return [off + i * size for i in range(count)]

    segments = []
    for at in table(phoff, phentsize, phnum):
        p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz = struct.unpack_from(
            "<IIIIII", data, at
        )
        segments.append(ElfSegment(p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz))
    raw = []
    for at in table(shoff, shentsize, shnum):
        sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size = struct.unpack_from(
            "<IIIIII", data, at
        )
        raw.append((sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size))
    if not 0 <= shstrndx < len(raw):
        raise UsageError(f"{path}: no section name table")
    str_off, str_size = raw[shstrndx][4], raw[shstrndx][5]
    names = data[str_off : str_off + str_size]

    def name_at(i: int) -> str:
        end = names.find(b"\0", i)
        return names[i : end if end >= 0 else len(names)].decode("ascii", "replace")

    sections = tuple(ElfSection(name_at(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in raw)
    return Elf(sections=sections, segments=tuple(segments))


@dataclass(frozen=True)
class FirmwareSize:
    """Flash the image occupies and RAM its static data takes (no heap; stack aside)."""

    flash_bytes: int
    ram_bytes: int
    ram_sections: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "ram_sections": dict(self.ram_sections),
        }


def firmware_size(elf_path: Path, ram: tuple[int, int] | None = None) -> FirmwareSize:
    """Totals from the ELF headers. `ram` = (origin, length) of the RAM region to count
    (default: every allocated writable section)."""
    elf = read_elf(elf_path)
    flash = sum(s.filesz for s in elf.segments if s.type == _PT_LOAD)
    ram_sections: dict[str, int] = {}
    for sec in elf.sections:
        if sec.flags & _SHF_ALLOC and sec.flags & _SHF_WRITE and sec.size:
            if ram is not None and not ram[0] <= sec.addr < ram[0] + ram[1]:
                continue
            ram_sections[sec.name] = ram_sections.get(sec.name, 0) + sec.size
    return FirmwareSize(flash, sum(ram_sections.values()), ram_sections)


# --- linker map ---------------------------------------------------------------------------

_CODE_PREFIXES: Final = (".text", ".rodata", ".data", ".ARM.extab", ".ARM.exidx")
_RAM_PREFIXES: Final = (".data", ".bss", "COMMON", ".noinit")
_INPUT_ONE_LINE: Final = re.compile(
    r"^ (?P<sec>\S+)\s+0x(?P<addr>[0-9a-fA-F]+)\s+0x(?P<size>[0-9a-fA-F]+)\s+(?P<file>\S.*)$"
)
_INPUT_NAME_ONLY: Final = re.compile(r"^ (?P<sec>[^\s*]\S*)$")
_INPUT_CONT: Final = re.compile(
    r"^\s+0x(?P<addr>[0-9a-fA-F]+)\s+0x(?P<size>[0-9a-fA-F]+)\s+(?P<file>\S.*)$"
)
_REGION: Final = re.compile(
    r"^(?P<name>\w+)\s+0x(?P<origin>[0-9a-fA-F]+)\s+0x(?P<len>[0-9a-fA-F]+)"
)
_MEMBER: Final = re.compile(r"^(?P<archive>.+?)\((?P<member>[^()]+)\)$")


@dataclass
class LinkMap:
    """What the GNU ld map says about the image."""

    regions: dict[str, tuple[int, int]] = field(default_factory=dict)
    # kept input sections: (section name, address, size, file)
    inputs: list[tuple[str, int, int, str]] = field(default_factory=list)
    # cross references: symbol -> (defining file, referencing files)
    xref: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


def parse_map(text: str) -> LinkMap:
    """Parse the parts of a GNU ld map file `theraloop bench` needs."""
    lm = LinkMap()
    part = ""
    pending: str | None = None
    xref_symbol: str | None = None
    xref_files: list[str] = []

    def flush_xref() -> None:
        if xref_symbol is not None and xref_files:
            lm.xref[xref_symbol] = (xref_files[0], tuple(xref_files[1:]))

    for line in text.splitlines():
        if line.startswith("Memory Configuration"):
            part = "memory"
            continue
        if line.startswith("Linker script and memory map"):
            part = "map"
            continue
        if line.startswith("Cross Reference Table"):
            part = "xref"
            continue
        if part == "memory":
            m = _REGION.match(line)
            if m and m.group("name") not in ("Name",):
                lm.regions[m.group("name")] = (int(m.group("origin"), 16), int(m.group("len"), 16))
        elif part == "map":
            if pending is not None:
                m = _INPUT_CONT.match(line)
                if m:
                    lm.inputs.append(
                        (pending, int(m.group("addr"), 16), int(m.group("size"), 16), m["file"])
                    )
                pending = None
                continue
            m = _INPUT_ONE_LINE.match(line)
            if m:
                if m.group("sec") != "*fill*":
                    lm.inputs.append(
                        (m["sec"], int(m.group("addr"), 16), int(m.group("size"), 16), m["file"])
                    )
                continue
            m = _INPUT_NAME_ONLY.match(line)
            if m:
                pending = m.group("sec")
        elif part == "xref":
            if not line.strip() or line.startswith("Symbol"):
                continue
            if not line[0].isspace():
                flush_xref()
                fields = line.split()
                xref_symbol = fields[0]
                xref_files = [" ".join(fields[1:])] if len(fields) > 1 else []
            else:
                xref_files.append(line.strip())
    flush_xref()
    return lm


def _member(file: str) -> tuple[str, str] | None:
    """(archive path, member) of `lib.a(member.o)`, or None for a plain object file."""
    m = _MEMBER.match(file.strip())
    return (m.group("archive"), m.group("member")) if m else None


def _is_toolchain_library(file: str) -> bool:
    """A member of a toolchain archive (libgcc, libc): the map names them by absolute
    path, while the project's own objects and archives are relative to the build tree."""
    m = _member(file)
    return m is not None and Path(m[0]).is_absolute()


def _object_name(file: str) -> str:
    m = _member(file)
    return m[1] if m else Path(file.strip()).name


def object_label(file: str) -> str:
    """A short name for a map file entry: `op_conv.c` for the project's objects,
    `libgcc.a:_arm_muldivdf3.o` for toolchain library members."""
    name = _object_name(file)
    if _is_toolchain_library(file):
        m = _member(file)
        assert m is not None
        return f"{Path(m[0]).name}:{name}"
    return name.removesuffix(".obj")


@dataclass(frozen=True)
class EngineSize:
    """The engine's flash, from the map."""

    code_bytes: int  # kept sections of the src/nn objects
    library_bytes: int  # toolchain library members the engine calls
    group_bytes: int  # the nn SMP group (src/smp/mgmt_nn*.c)
    objects: tuple[str, ...]
    library_members: tuple[str, ...]

    @property
    def flash_bytes(self) -> int:
        return self.code_bytes + self.library_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "flash_bytes": self.flash_bytes,
            "code_bytes": self.code_bytes,
            "library_bytes": self.library_bytes,
            "smp_group_bytes": self.group_bytes,
            "objects": len(self.objects),
            "library_members": list(self.library_members),
        }


def engine_object_names(src_nn: Path) -> frozenset[str]:
    """Object names CMake gives the engine's sources (`op_conv.c` -> `op_conv.c.obj`)."""
    names = [p.name + ".obj" for p in sorted(src_nn.rglob("*.c"))]
    if not names:
        raise UsageError(f"no engine sources under {src_nn}")
    return frozenset(names)


def _code_bytes(lm: LinkMap, files: Iterable[str]) -> int:
    wanted = set(files)
    return sum(
        size for sec, _addr, size, f in lm.inputs if f in wanted and sec.startswith(_CODE_PREFIXES)
    )


def load_map(map_path: Path) -> LinkMap:
    """Read and parse a map file."""
    try:
        return parse_map(map_path.read_text(errors="replace"))
    except OSError as e:
        raise UsageError(f"{map_path}: cannot read: {e.strerror or e}") from e


def engine_size(lm: LinkMap, src_root: Path, source: str = "map file") -> EngineSize:
    """The engine's flash in the image the map describes (see the module doc)."""
    core_src = src_root / "firmware/core/src"
    nn_names = engine_object_names(core_src / "nn")
    others = {
        p.name + ".obj" for p in core_src.rglob("*.c") if p.relative_to(core_src).parts[0] != "nn"
    }
    ambiguous = sorted(nn_names & others)
    if ambiguous:
        raise UsageError(f"engine sources share object names with other core sources: {ambiguous}")
    files = {f for _s, _a, _z, f in lm.inputs}
    project = {f for f in files if not _is_toolchain_library(f)}
    engine_files = {f for f in project if _object_name(f) in nn_names}
    if not engine_files:
        raise UsageError(f"{source}: no engine objects in the image (is the nn group linked?)")
    group_files = {f for f in project if _object_name(f).startswith("mgmt_nn")}
    if not lm.xref:
        raise UsageError(f"{source}: no cross reference table; link with -Wl,--cref")
    # Toolchain members the engine calls, directly or through each other.
    callers = set(engine_files)
    library: set[str] = set()
    changed = True
    while changed:
        changed = False
        for definer, referrers in lm.xref.values():
            if definer in library or not _is_toolchain_library(definer):
                continue
            if any(r in callers for r in referrers):
                library.add(definer)
                callers.add(definer)
                changed = True
    return EngineSize(
        code_bytes=_code_bytes(lm, engine_files),
        library_bytes=_code_bytes(lm, library),
        group_bytes=_code_bytes(lm, group_files),
        objects=tuple(sorted(_object_name(f) for f in engine_files)),
        library_members=tuple(sorted(_object_name(f) for f in library)),
    )
