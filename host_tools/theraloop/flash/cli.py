"""`theraloop flash IMAGE`: program an ELF or a (signed) binary, verify it, start it."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.flash.gdb_load import load_via_gdb
from theraloop.flash.gdb_rsp import GdbClient, parse_address
from theraloop.flash.image import Image, load_image
from theraloop.flash.probe import program_with_probe


def _int(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number (e.g. 0x08000000)") from None
    if not 0 <= number < 1 << 32:
        raise click.BadParameter(f"{value} is outside the 32-bit address space")
    return number


def _bar(state: CliState, total: int, desc: str) -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        leave=False,
        disable=state.json or None,
    )


@click.command()
@click.argument("image", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--probe", "probe_id", metavar="ID", help="Unique id (or part of it) of the probe.")
@click.option(
    "--target",
    metavar="NAME",
    help="pyOCD target type (e.g. stm32f405rgtx after `pyocd pack install stm32f405rg`); "
    "default: what the probe reports.",
)
@click.option(
    "--gdb",
    "gdb_address",
    metavar="HOST:PORT",
    help="Load through this GDB server (QEMU -gdb, OpenOCD) instead of a probe.",
)
@click.option(
    "--base",
    callback=_int,
    metavar="ADDR",
    help="Load address of a .bin image. [default: 0x08000000]",
)
@click.option("--no-verify", is_flag=True, help="Do not read the image back.")
@click.option("--no-reset", is_flag=True, help="Do not reset/start the target afterwards.")
@json_option
@pass_state
def flash(
    state: CliState,
    image: Path,
    probe_id: str | None,
    target: str | None,
    gdb_address: str | None,
    base: int | None,
    no_verify: bool,
    no_reset: bool,
) -> None:
    """Program IMAGE (ELF, or raw/signed .bin) through a debug probe or a GDB server."""
    img = load_image(image, base=base)
    if gdb_address is not None:
        if probe_id or target:
            raise click.UsageError("--probe/--target select a pyOCD probe; not with --gdb")
        result = _flash_gdb(state, img, gdb_address, verify=not no_verify, start=not no_reset)
    else:
        result = _flash_probe(
            state, img, probe_id, target, verify=not no_verify, reset=not no_reset
        )
    summary = {"image": str(image), "kind": img.kind, "bytes": img.size, **result}
    how = f"GDB server {gdb_address}" if gdb_address else f"probe {result.get('probe')}"
    state.emit(
        summary,
        human=(
            f"flashed {img.size:,} bytes of {image.name} at {img.base:#010x} through {how}"
            + (", verified" if not no_verify else "")
            + (", started" if not no_reset else "")
        ),
    )


def _flash_gdb(
    state: CliState, img: Image, address: str, *, verify: bool, start: bool
) -> dict[str, object]:
    host, port = parse_address(address)
    with GdbClient(host, port, timeout=max(state.timeout, 5.0)) as client:
        total = img.size * (2 if verify else 1)
        with _bar(state, total, "flash") as bar:
            result = load_via_gdb(
                client, img, verify=verify, start=start, on_write=bar.update, on_verify=bar.update
            )
    return {
        "gdb": f"{host}:{port}",
        "verified": result.verified,
        "started": result.started,
        "sp": result.sp,
        "pc": result.pc,
    }


def _flash_probe(
    state: CliState,
    img: Image,
    probe_id: str | None,
    target: str | None,
    *,
    verify: bool,
    reset: bool,
) -> dict[str, object]:
    with _bar(state, 100, "flash") as bar:

        def progress(fraction: float) -> None:
            bar.n = round(fraction * 100)
            bar.refresh()

        result = program_with_probe(
            img,
            probe_id=probe_id,
            target=target,
            verify=verify,
            reset=reset,
            on_progress=progress,
        )
    return {
        "probe": result.probe,
        "target": result.target,
        "verified": result.verified,
        "started": result.reset,
    }
