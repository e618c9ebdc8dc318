"""Emulator commands of the `theraloop` CLI: `sim serve`, `sim session` and `demo`."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.errors import UsageError
from theraloop.paths import default_elf
from theraloop.sim.qemu import QemuRunner

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


def _settings(values: tuple[str, ...]) -> dict[str, int | str]:
    out: dict[str, int | str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected KEY=VALUE")
        out[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else value.strip()
    return out


def _run(spec: Any, out_dir: Path | None, quiet: bool) -> dict[str, Any]:
    """One session: run it, summarise it, write its plot; returns the summary."""
    from theraloop.sim.plots import plot_session
    from theraloop.sim.session import open_target, run_session
    from theraloop.sim.summary import summarize

    with open_target(spec) as target:
        outcome = run_session(spec, target, progress=not quiet)
    summary = summarize(outcome)
    if out_dir is not None:
        png = plot_session(outcome, out_dir / f"{spec.name}.png", summary)
        summary["plot"] = str(png)
    return summary


@sim.command()
@elf_option
@click.option(
    "--policy",
    type=click.Choice(["adaptive", "responsive", "open-loop"]),
    default="adaptive",
    show_default=True,
)
@click.option(
    "--duration",
    "duration_s",
    type=float,
    default=60.0,
    show_default=True,
    help="Simulated seconds.",
)
@click.option(
    "--patient",
    type=click.Choice(["beta", "stn-replay", "bonn-replay"]),
    default=None,
    help="[default: bonn-replay for responsive, else beta]",
)
@click.option(
    "--recording",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder with stn_lfp/ and bonn_eeg/ [default: ../shared/data].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--faults", default="", help="Fault schedule, e.g. dropout@10+2,saturation@30+1.5=80")
@click.option("--target", type=click.Choice(["qemu", "sil"]), default="qemu", show_default=True)
@click.option(
    "--icount/--no-icount",
    default=True,
    show_default=True,
    help="QEMU: deterministic virtual time (stage timing in exact instructions).",
)
@click.option("--ack", is_flag=True, help="The virtual stimulator acknowledges every frame.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Extra device configuration (theraloop config set names); repeatable.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/sim"),
    show_default=True,
    help="Where summary.json and <policy>.png go.",
)
@click.option("--name", default="", help="Session name (file names) [default: the policy].")
@json_option
@pass_state
def session(
    state: CliState,
    elf: Path | None,
    policy: str,
    duration_s: float,
    patient: str | None,
    recording: Path | None,
    seed: int,
    faults: str,
    target: str,
    icount: bool,
    ack: bool,
    overrides: tuple[str, ...],
    out_dir: Path,
    name: str,
) -> None:
    """Run a closed-loop session: the virtual patient in lockstep with the firmware.

    Boots the firmware in QEMU (or the SIL loop), configures the policy over SMP, starts
    therapy, runs the patient with a progress bar, reads the device's telemetry, events
    and status, and writes summary.json and a plot into --out."""
    from theraloop.sim.session import SessionSpec
    from theraloop.sim.summary import format_summary

    spec = SessionSpec(
        policy=policy,
        patient=patient or ("bonn-replay" if policy == "responsive" else "beta"),
        duration_s=duration_s,
        seed=seed,
        faults=faults,
        target=target,
        elf=elf,
        recording=recording,
        settings=_settings(overrides),
        icount=icount,
        ack=ack,
        name=name,
    )
    summary = _run(spec, out_dir, quiet=False)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    state.emit(summary, human=format_summary(summary) + f"\n  plot             {summary['plot']}")


@click.command()
@elf_option
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("build/demo"),
    show_default=True,
)
@click.option(
    "--adaptive-duration",
    type=float,
    default=120.0,
    show_default=True,
    help="Simulated seconds of adaptive DBS.",
)
@click.option(
    "--responsive-duration",
    type=float,
    default=300.0,
    show_default=True,
    help="Simulated seconds of responsive therapy.",
)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--target", type=click.Choice(["qemu", "sil"]), default="qemu", show_default=True)
@json_option
@pass_state
def demo(
    state: CliState,
    elf: Path | None,
    out_dir: Path,
    adaptive_duration: float,
    responsive_duration: float,
    seed: int,
    target: str,
) -> None:
    """The closed loop end to end: adaptive DBS on a virtual Parkinson's patient, then
    responsive stimulation on real EEG with spliced seizures, each against the firmware
    booted in QEMU; prints the summary, writes <out>/adaptive.png, responsive.png and
    summary.json."""
    from theraloop.sim.session import SessionSpec
    from theraloop.sim.summary import format_summary

    specs = [
        SessionSpec(
            policy="adaptive",
            patient="beta",
            duration_s=adaptive_duration,
            seed=seed,
            target=target,
            elf=elf,
            name="adaptive",
        ),
        SessionSpec(
            policy="responsive",
            patient="bonn-replay",
            duration_s=responsive_duration,
            seed=seed,
            target=target,
            elf=elf,
            name="responsive",
        ),
    ]
    sessions = []
    for spec in specs:
        if not state.json:
            click.echo(
                f"{spec.name}: {spec.policy} therapy, {spec.patient} patient, "
                f"{spec.duration_s:g} s simulated",
                err=True,
            )
        sessions.append(_run(spec, out_dir, quiet=False))
    data = {"sessions": {s["name"]: s for s in sessions}}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(json.dumps(data, indent=2) + "\n")
    human = "\n\n".join(format_summary(s) for s in sessions)
    human += "\n\nwrote " + ", ".join(
        [*(s["plot"] for s in sessions), str(out_dir / "summary.json")]
    )
    state.emit(data, human=human)
