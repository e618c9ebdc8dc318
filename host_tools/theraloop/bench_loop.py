"""`theraloop bench-loop`: cycles per control step of the firmware under QEMU.

Boots the firmware in QEMU with `-icount` (one guest instruction = 2^shift ns of virtual
time; SysTick runs on virtual time at the 168 MHz core clock), runs a policy end to end on
a real recording fed over the AFE link (the same scenarios as the end-to-end tests:
adaptive on the STN LFP with the beta-biomarker model, responsive on Bonn EEG with the
seizure detector), and reads the loop's own stage timing from `status`: features,
inference, policy, supervisor (with event log, telemetry and the stimulator frame) and the
whole step, min/mean/max over every data step.

The loop measures SysTick cycles of the virtual clock; under -icount these convert exactly
to executed instructions (insns = cycles x 10^9 / 2^shift / 168 MHz), which is what is
reported, with the time per step on a 168 MHz Cortex-M4 counting one instruction per cycle
(the M4 needs somewhat more: loads, taken branches and flash wait states cost extra).
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import click

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.device import Device
from theraloop.errors import EmulatorError, UsageError
from theraloop.loop import client
from theraloop.loop import scenarios as sc
from theraloop.paths import default_elf
from theraloop.sim.qemu import QemuRunner, QemuSettings

STAGES = ("features", "inference", "policy", "supervisor", "step")


def _scenario(policy: str, seconds: float) -> tuple[dict[str, int | str], bytes, int, int]:
    """(settings, AFE bytes, expected steps, rate) of a policy's scenario."""
    if not sc.data_dir().is_dir():
        raise UsageError(f"recordings not found in {sc.data_dir()} (see ../shared/data/README.md)")
    if policy == "adaptive":
        settings = sc.adaptive_settings()
        x = sc.stn_samples()
        rate, hop, block = 1000, 20, 20
    else:
        settings = sc.responsive_settings()
        x, _ = sc.bonn_splice()
        rate, block = 250, 25
        hop = int(sc.contract(sc.SEIZURE)["step"]["hop_samples"])
    x = x[: int(seconds * rate)]
    settings = {**settings, "dropout_ms": 0, "step_budget_us": 10_000_000}
    return settings, sc.afe_stream(x, rate, block), x.size // hop, rate


def _run(elf: Path, policy: str, seconds: float) -> dict[str, Any]:
    settings, stream, steps, rate = _scenario(policy, seconds)
    shift = QemuSettings.load().icount_shift
    runner = QemuRunner(elf, extra_args=("-icount", f"shift={shift},align=off,sleep=off"))
    # (a generous answer timeout: under -icount the emulated core is slower, and the host
    # may be busy)
    with runner as qemu, Device(qemu.cli_url, timeout=30.0) as dev:
        dev.wait_ready(30.0)
        client.config_set(dev, settings)
        client.therapy(dev, "start")
        stim = socket.create_connection(("127.0.0.1", int(qemu.stim_url.rsplit(":", 1)[1])))
        afe = socket.create_connection(("127.0.0.1", int(qemu.afe_url.rsplit(":", 1)[1])))
        drain = threading.Thread(target=_drain, args=(stim,), daemon=True)
        drain.start()
        afe.sendall(stream)
        deadline = time.monotonic() + 300.0
        while True:
            st = client.status(dev)
            if st["timing"]["step"]["count"] >= steps:
                break
            if time.monotonic() > deadline:
                raise EmulatorError(
                    f"only {st['timing']['step']['count']} of {steps} steps after 300 s"
                )
            time.sleep(0.5)
        afe.close()
        stim.close()
    hz = int(st["timing"]["hz"])
    per_cycle = 1e9 / (2**shift) / hz
    stages = {}
    for name in STAGES:
        s = st["timing"][name]
        stages[name] = {
            "count": s["count"],
            "cycles": {k: s[k] for k in ("min", "mean", "max")},
            "instructions": {k: round(s[k] * per_cycle) for k in ("min", "mean", "max")},
        }
    hop_ms = int(st["sensing"]["hop_ms"])
    mean_step = stages["step"]["instructions"]["mean"]
    return {
        "policy": policy,
        "model": st["model"]["source"],
        "model_state": st["model"]["state"],
        "rate_hz": rate,
        "hop_ms": hop_ms,
        "steps": stages["step"]["count"],
        "inferences": st["model"]["inferences"],
        "stages": stages,
        "step_us_at_168mhz": round(mean_step / 168.0, 1),
        "cpu_share_of_hop": round(mean_step / 168e6 / (hop_ms / 1000.0), 5),
        "icount_shift": shift,
        "systick_hz": hz,
    }


def _drain(sock: socket.socket) -> None:
    """Read the stimulator link so that the emulated UART never blocks."""
    try:
        while sock.recv(65536):
            pass
    except OSError:
        return


def _human(results: list[dict[str, Any]]) -> str:
    r0 = results[0]
    lines = [
        f"theraloop bench-loop: QEMU -icount shift={r0['icount_shift']} (1 instruction = "
        f"{2 ** r0['icount_shift']} ns), SysTick at {r0['systick_hz'] / 1e6:g} MHz; "
        "instructions per control step (~ Cortex-M4 cycles at 1 IPC)"
    ]
    for r in results:
        lines.append("")
        lines.append(
            f"{r['policy']}: model {r['model']} ({r['model_state']}), {r['rate_hz']} Hz, hop "
            f"{r['hop_ms']} ms, {r['steps']} steps, {r['inferences']} inferences"
        )
        lines.append(f"  {'stage':<11}{'min':>10}{'mean':>10}{'max':>10}")
        for name in STAGES:
            i = r["stages"][name]["instructions"]
            lines.append(f"  {name:<11}{i['min']:>10}{i['mean']:>10}{i['max']:>10}")
        lines.append(
            f"  step: {r['step_us_at_168mhz']} us at 168 MHz, "
            f"{r['cpu_share_of_hop'] * 100:.2f} % of the {r['hop_ms']} ms hop"
        )
    return "\n".join(lines)


@click.command("bench-loop")
@click.option(
    "--elf",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Firmware image (default: the tree's build, or THERALOOP_ELF).",
)
@click.option(
    "--policy",
    type=click.Choice(["adaptive", "responsive", "both"]),
    default="both",
    show_default=True,
)
@click.option(
    "--seconds",
    type=click.FloatRange(1.0, 600.0),
    default=15.0,
    show_default=True,
    help="Seconds of recording to run (device time).",
)
@json_option
@pass_state
def bench_loop(state: CliState, elf: Path | None, policy: str, seconds: float) -> None:
    """Cycles per control step, per stage (features, inference, policy, supervisor),
    measured by the firmware itself under QEMU -icount on real recordings."""
    image = elf if elf is not None else default_elf()
    if not image.is_file():
        raise UsageError(f"firmware image {image} not found: build it with `make firmware`")
    policies = ["adaptive", "responsive"] if policy == "both" else [policy]
    results = [_run(image, p, seconds) for p in policies]
    state.emit({"results": results}, human=_human(results))
