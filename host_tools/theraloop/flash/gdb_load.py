"""Load an image through a GDB server, verify it, and start it.

Plain memory writes (`X`/`M`) for servers that map flash as writable memory (QEMU's
stub: its flash is ROM the debugger may write); the server's own flash programming
(`vFlashErase`/`vFlashWrite`/`vFlashDone`) for servers that publish a memory map with
flash regions (OpenOCD, pyOCD gdbserver). Verification reads everything back with `m`.
Start: on a server that programmed flash, `monitor reset`; otherwise (QEMU, halted at
reset by `-S`) SP and PC from the image's vector table and xPSR with only the Thumb bit,
which is what a Cortex-M reset does. Then detach, which resumes the target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from theraloop.flash.gdb_rsp import FlashRegion, GdbClient, RspError
from theraloop.flash.image import Image, Segment

logger = logging.getLogger(__name__)

DEFAULT_REGISTERS = {"sp": 13, "pc": 15, "xpsr": 25}
"""Register numbers of GDB's ARM M-profile layout, used if the server has no description."""
XPSR_THUMB = 0x0100_0000

Progress = Callable[[int], None]
"""Called with the number of bytes just written or verified."""


@dataclass(frozen=True)
class GdbLoadResult:
    bytes_written: int
    verified: bool
    started: bool
    flash_programmed: bool
    sp: int | None
    pc: int | None


def _in_flash(segment: Segment, regions: list[FlashRegion]) -> FlashRegion | None:
    for region in regions:
        if region.start <= segment.address < region.end:
            if segment.end > region.end:
                raise RspError(
                    f"segment at {segment.address:#010x} ({len(segment.data)} bytes) runs past "
                    f"the flash region ending at {region.end:#010x}"
                )
            return region
    return None


def _erase_ranges(segments: list[tuple[Segment, FlashRegion]]) -> list[tuple[int, int]]:
    """Block-aligned (start, end) ranges to erase, merged."""
    ranges: list[tuple[int, int]] = []
    for seg, region in segments:
        bs = region.blocksize
        start = region.start + (seg.address - region.start) // bs * bs
        end = region.start + -(-(seg.end - region.start) // bs) * bs
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return ranges


def load_via_gdb(
    client: GdbClient,
    image: Image,
    *,
    verify: bool = True,
    start: bool = True,
    on_write: Progress | None = None,
    on_verify: Progress | None = None,
) -> GdbLoadResult:
    """Write every segment of `image`, read it back (`verify`), then start it (`start`)."""
    sp = pc = None
    if start:
        sp, pc = image.vector_table()
        if not pc & 1:
            raise RspError(f"reset vector {pc:#010x} has no Thumb bit: not a Cortex-M image")
    regions = client.flash_regions()
    flash_segments: list[tuple[Segment, FlashRegion]] = []
    ram_segments: list[Segment] = []
    for seg in image.segments:
        region = _in_flash(seg, regions)
        if region is None:
            ram_segments.append(seg)
        else:
            flash_segments.append((seg, region))
    chunk = client.chunk_size
    if flash_segments:
        for lo, hi in _erase_ranges(flash_segments):
            logger.info("erasing flash %#010x..%#010x", lo, hi)
            client.flash_erase(lo, hi - lo)
        for seg, _region in flash_segments:
            for off in range(0, len(seg.data), chunk):
                piece = seg.data[off : off + chunk]
                client.flash_write(seg.address + off, piece)
                if on_write:
                    on_write(len(piece))
        client.flash_done()
    for seg in ram_segments:
        for off in range(0, len(seg.data), chunk):
            piece = seg.data[off : off + chunk]
            client.write_memory(seg.address + off, piece)
            if on_write:
                on_write(len(piece))
    if verify:
        for seg in image.segments:
            for off in range(0, len(seg.data), chunk):
                want = seg.data[off : off + chunk]
                got = client.read_memory(seg.address + off, len(want))
                if got != want:
                    bad = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
                    raise RspError(
                        f"verify failed at {seg.address + off + bad:#010x}: wrote "
                        f"{want[bad]:#04x}, read back {got[bad]:#04x}"
                    )
                if on_verify:
                    on_verify(len(want))
    if start and flash_segments:
        # A hardware debug server: a real reset starts the new image with every
        # peripheral in its reset state.
        client.monitor("reset")
    elif start:
        assert sp is not None and pc is not None
        numbers = {**DEFAULT_REGISTERS, **client.register_numbers()}
        client.write_register(numbers["sp"], sp)
        client.write_register(numbers["pc"], pc & ~1)
        client.write_register(numbers["xpsr"], XPSR_THUMB)
    client.detach()
    return GdbLoadResult(image.size, verify, start, bool(flash_segments), sp, pc)
