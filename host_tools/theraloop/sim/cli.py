"""Emulator commands of the `theraloop` CLI: `sim serve` and `demo`."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from theraloop.clikit import CliState, json_option, pass_state, render_table
from theraloop.device import Device
from theraloop.paths import default_elf
from theraloop.sim.qemu import QemuRunner

_BOOT_TIMEOUT_S = 10.0

elf_option = click.option(
    "--elf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Firmware image [default: $THERALOOP_ELF, else build/stm32f4/.../theraloop.elf].",
)


@click.group()
def sim() -> None:
    """Run the firmware in an emulator (QEMU netduinoplus2)."""


@sim.command()
@elf_option
@click.option("--gdb", is_flag=True, help="Open a GDB server and start halted until continued.")
@click.option("--icount", is_flag=True, help="Deterministic virtual time (1 instruction = 1 ns).")
@click.option("--pty", "cli_pty", is_flag=True, help="Put the CLI USART on a pty, not TCP.")
def serve(elf: Path | None, gdb: bool, icount: bool, cli_pty: bool) -> None:
    """Boot the firmware in QEMU and keep it running until SIGINT/SIGTERM.

    When ready, prints one JSON line with where to connect: "cli", "afe" and "stim"
    (socket:// URLs on 127.0.0.1, or a pty path with --pty), "gdb" (host:port or null),
    "pid" and "elf". Then:  theraloop --port <cli> info
    """
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, on_signal) for sig in handled}
    try:
        with QemuRunner(elf or default_elf(), gdb=gdb, icount=icount, cli_pty=cli_pty) as qemu:
            click.echo(json.dumps(qemu.describe()))
            while not stop.wait(0.1):
                qemu.check_running()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@elf_option
@json_option
@pass_state
def demo(state: CliState, elf: Path | None) -> None:
    """Boot the firmware in QEMU, show its `info`, and shut QEMU down again."""
    with QemuRunner(elf or default_elf()) as qemu:
        dev = Device(qemu.cli_url, timeout=state.timeout)
        try:
            answer = dev.wait_ready(_BOOT_TIMEOUT_S)
        finally:
            dev.close()
        qemu.check_running()
        data = answer.to_dict()
        human = "\n".join(
            [
                f"theraloop firmware running in QEMU (pid {qemu.pid}, {qemu.elf.name})",
                "",
                render_table(data),
            ]
        )
        state.emit(data, human=human)
