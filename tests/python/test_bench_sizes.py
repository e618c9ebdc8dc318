"""`theraloop bench`'s size figures: the linker-map parser on a hand-written map (every
line shape GNU ld writes), and the firmware/engine sizes of the real image checked
against the toolchain's own `size` and `nm`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from theraloop.bench.sizes import engine_size, firmware_size, load_map, parse_map
from theraloop.cli import main

ROOT = Path(__file__).resolve().parents[2]
GCC = "/usr/lib/gcc/arm-none-eabi/12.2.1/thumb/v7e-m+fp/hard/libgcc.a"
LIBC = "/usr/lib/arm-none-eabi/lib/thumb/v7e-m+fp/hard/libc_nano.a"

MAP = f"""\
Archive member included to satisfy reference by file (symbol)

firmware/core/libtheraloop_core.a(model.c.obj)
                              firmware/core/libtheraloop_core.a(mgmt_nn.c.obj) (tl_nn_load)

Discarded input sections

 .text.unused   0x00000000      0x400 firmware/core/libtheraloop_core.a(model.c.obj)
 .text          0x00000000      0x254 {GCC}(_arm_muldf3.o)

Memory Configuration

Name             Origin             Length             Attributes
FLASH            0x08000000         0x00100000         xr
RAM              0x20000000         0x00020000         xrw
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD firmware/core/libtheraloop_core.a
.text           0x08000000     0x2000
 *(.text .text.*)
 .text.tl_nn_load
                0x08000000      0x100 firmware/core/libtheraloop_core.a(model.c.obj)
                0x08000000                tl_nn_load
 .text.conv     0x08000100       0x80 firmware/core/libtheraloop_core.a(op_conv.c.obj)
 *fill*         0x08000180        0x4{" "}
 .text.tl_mgmt_nn_register
                0x08000184       0x40 firmware/core/libtheraloop_core.a(mgmt_nn.c.obj)
 .text.app      0x080001c4       0x20 firmware/core/libtheraloop_core.a(app.c.obj)
 .text          0x080001e4      0x300 {GCC}(_arm_muldivdf3.o)
                0x080001e4                __aeabi_dmul
 .text          0x080004e4       0x50 {GCC}(_fixunsdfsi.o)
 .text          0x08000534       0x60 {LIBC}(lib_a-memcpy.o)
 .text          0x08000594       0x10 {LIBC}(lib_a-strlen.o)
 .rodata.k_table
                0x080005a4       0x44 firmware/core/libtheraloop_core.a(op_conv.c.obj)
.bss            0x20000000      0x100
 .bss.g_nn      0x20000000       0x80 firmware/core/libtheraloop_core.a(mgmt_nn.c.obj)
.debug_info     0x00000000     0x1000
 .debug_info    0x00000000      0x800 firmware/core/libtheraloop_core.a(op_conv.c.obj)

Cross Reference Table

Symbol                                            File
__aeabi_d2uiz                                     {GCC}(_fixunsdfsi.o)
                                                  {GCC}(_arm_muldivdf3.o)
__aeabi_dmul                                      {GCC}(_arm_muldivdf3.o)
                                                  firmware/core/libtheraloop_core.a(op_conv.c.obj)
memcpy                                            {LIBC}(lib_a-memcpy.o)
                                                  firmware/core/libtheraloop_core.a(app.c.obj)
                                                  firmware/core/libtheraloop_core.a(model.c.obj)
strlen                                            {LIBC}(lib_a-strlen.o)
                                                  firmware/core/libtheraloop_core.a(app.c.obj)
tl_nn_load                                        firmware/core/libtheraloop_core.a(model.c.obj)
                                                  firmware/core/libtheraloop_core.a(mgmt_nn.c.obj)
"""


@pytest.fixture
def src_tree(tmp_path: Path) -> Path:
    for rel in ("nn/model.c", "nn/ops/op_conv.c", "smp/mgmt_nn.c", "app/app.c"):
        f = tmp_path / "firmware/core/src" / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("/* */\n")
    return tmp_path


def test_map_parser_reads_every_line_shape():
    lm = parse_map(MAP)
    assert lm.regions["RAM"] == (0x20000000, 0x20000)
    names = [(sec, size) for sec, _a, size, _f in lm.inputs]
    assert (".text.tl_nn_load", 0x100) in names  # two-line entry
    assert (".text.conv", 0x80) in names  # one-line entry
    assert (".text.unused", 0x400) not in names  # discarded by --gc-sections
    assert not any(sec == "*fill*" for sec, _ in names)
    definer, refs = lm.xref["__aeabi_dmul"]
    assert definer.endswith("(_arm_muldivdf3.o)")
    assert refs == ("firmware/core/libtheraloop_core.a(op_conv.c.obj)",)


def test_engine_size_counts_nn_objects_and_the_library_they_call(src_tree: Path):
    e = engine_size(parse_map(MAP), src_tree)
    assert e.objects == ("model.c.obj", "op_conv.c.obj")
    assert e.code_bytes == 0x100 + 0x80 + 0x44  # .text + .rodata, no debug, no discarded
    # dmul (called by op_conv) and d2uiz (called by dmul); memcpy (called by model.c
    # too); not strlen (only the app calls it)
    assert e.library_members == ("_arm_muldivdf3.o", "_fixunsdfsi.o", "lib_a-memcpy.o")
    assert e.library_bytes == 0x300 + 0x50 + 0x60
    assert e.group_bytes == 0x40  # mgmt_nn's code; its .bss is RAM
    assert e.flash_bytes == e.code_bytes + e.library_bytes


def test_engine_size_needs_the_cross_reference_table(src_tree: Path):
    no_xref = MAP.split("Cross Reference Table")[0]
    with pytest.raises(Exception, match="--cref"):
        engine_size(parse_map(no_xref), src_tree)


# --- the real firmware image -------------------------------------------------------------


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found (the firmware toolchain)", pytrace=False)
    return path


def test_firmware_size_agrees_with_arm_none_eabi_size(firmware_elf: Path):
    out = subprocess.run(
        [_tool("arm-none-eabi-size"), "-A", str(firmware_elf)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    sections = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            sections[parts[0]] = (int(parts[1]), int(parts[2]))
    lm = load_map(firmware_elf.with_suffix(".map"))
    fw = firmware_size(firmware_elf, lm.regions.get("RAM"))
    in_ram = {n: s for n, (s, addr) in sections.items() if 0x20000000 <= addr < 0x20020000}
    assert fw.ram_bytes == sum(s for s in in_ram.values() if s)
    flash_image = firmware_elf.with_suffix(".bin").stat().st_size  # objcopy -O binary
    # the .bin spans the loaded bytes (vectors, code, constants, .data init) plus
    # alignment gaps between them
    assert 0 < fw.flash_bytes <= flash_image < fw.flash_bytes + 64


def test_engine_size_of_the_real_image(firmware_elf: Path):
    lm = load_map(firmware_elf.with_suffix(".map"))
    e = engine_size(lm, ROOT)
    fw = firmware_size(firmware_elf, lm.regions.get("RAM"))
    nn_sources = list((ROOT / "firmware/core/src/nn").rglob("*.c"))
    assert 0 < len(e.objects) <= len(nn_sources)
    assert "engine.c.obj" in e.objects and "op_conv.c.obj" in e.objects
    assert 0 < e.code_bytes < e.flash_bytes < fw.flash_bytes
    assert 0 < e.group_bytes < e.code_bytes
    # every tl_nn_* function of the engine (not the SMP group's tl_nn_bench_*) lies in
    # the engine's objects: their sizes (nm) add up to less than the engine's code
    out = subprocess.run(
        [_tool("arm-none-eabi-nm"), "-S", "--defined-only", str(firmware_elf)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    engine_symbols = 0
    for line in out.splitlines():
        parts = line.split()
        name = parts[3] if len(parts) == 4 else ""
        if name.startswith("tl_nn_") and not name.startswith("tl_nn_bench_"):
            engine_symbols += int(parts[1], 16)
    assert 0 < engine_symbols <= e.code_bytes


def test_bench_reports_a_missing_image_in_one_line(tmp_path: Path):
    result = CliRunner().invoke(main, ["bench", "--elf", str(tmp_path / "none.elf")])
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("theraloop: error: firmware image") and "not found" in line
