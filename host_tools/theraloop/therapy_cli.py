"""The control loop's CLI commands: config get|set, therapy, status, stream, log.

All go through the device's SMP port (theraloop group, docs/protocol.md). A refusal
(unsafe or invalid configuration, a command not allowed now) prints the device's reason
and exits with status 1; nothing changed on the device.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from typing import Any

import click

from theraloop.clikit import CliState, json_option, jsonable, pass_state
from theraloop.errors import UsageError
from theraloop.loop import client
from theraloop.loop.records import TELEMETRY_FIELDS, fault_names

# --- config ---------------------------------------------------------------------------


@click.group()
def config() -> None:
    """Read or change the device's therapy and control-loop configuration."""


@config.command("get")
@click.argument("keys", nargs=-1, metavar="[KEY]...")
@json_option
@pass_state
def config_get(state: CliState, keys: tuple[str, ...]) -> None:
    """Show every configuration field, or the named ones."""
    with state.device() as dev:
        values = client.config_get(dev, keys or None)
    state.emit(values)


def _parse_assignment(text: str) -> tuple[str, int | str]:
    name, sep, raw = text.partition("=")
    if not sep or not name or not raw:
        raise UsageError(f"expected KEY=VALUE, got {text!r}")
    try:
        return name, int(raw, 0)
    except ValueError:
        return name, raw  # a choice name (policy=adaptive, model=beta_biomarker)


@config.command("set")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@json_option
@pass_state
def config_set(state: CliState, assignments: tuple[str, ...]) -> None:
    """Set fields, all or none: the device validates the whole result (charge density,
    limits, the pipeline) and refuses an unsafe or invalid one with its reason.

    Values are integers in the field's unit, or names for choices, e.g.
    `policy=adaptive model=beta_biomarker pipeline=raw`.
    """
    values: dict[str, int | str] = {}
    for a in assignments:
        name, value = _parse_assignment(a)
        if name in values:
            raise UsageError(f"{name} is given twice")
        values[name] = value
    with state.device() as dev:
        answer = client.config_set(dev, values)
    charge = answer.get("worst_charge_pc", 0) / 1000.0
    density = answer.get("worst_density_cuc_cm2", 0) / 100.0
    k = answer.get("worst_shannon_k_milli", 0) / 1000.0
    human = (
        f"applied {answer.get('applied', len(values))} field(s); model "
        f"{answer.get('model')}: {answer.get('model_state')}; worst case the limits allow: "
        f"{charge:.1f} nC/phase, {density:.2f} uC/cm2/phase, Shannon k {k:.3f}"
    )
    if answer.get("saved") is False:
        human += f"; NOT saved to flash ({answer.get('save_err', 'unknown error')})"
    state.emit(answer, human=human)


# --- therapy ----------------------------------------------------------------------------


@click.command()
@click.argument("command", type=click.Choice(client.COMMANDS))
@json_option
@pass_state
def therapy(state: CliState, command: str) -> None:
    """Start, stop, pause (emergency: stimulation off at once) or resume therapy."""
    with state.device() as dev:
        answer = client.therapy(dev, command)
    state.emit(
        answer,
        human=f"therapy {answer.get('state')} (mode {answer.get('mode')}, "
        f"{answer.get('amplitude_ua')} uA)",
    )


# --- status ------------------------------------------------------------------------------


def _stage_line(name: str, s: dict[str, int]) -> str:
    return f"  {name:<11}{s['min']:>10}{s['mean']:>10}{s['max']:>10}{s['count']:>9}"


def _status_text(st: dict[str, Any]) -> str:
    t = st.get("therapy", {})
    m = st.get("model", {})
    tm = st.get("timing", {})
    se = st.get("sensing", {})
    afe = st.get("afe", {})
    stim = st.get("stim", {})
    faults = fault_names(int(t.get("faults", 0)))
    out = [
        f"therapy     {t.get('state')}, policy {t.get('policy')} ({t.get('policy_state')}), "
        f"mode {t.get('mode')}, reason {t.get('reason')}",
        f"output      {'on' if t.get('enabled') else 'off'} {t.get('amplitude_ua')} uA, "
        f"{t.get('pulse_width_us')} us, {int(t.get('rate_dhz', 0)) / 10:.1f} Hz "
        f"(heading to {t.get('target_ua')} uA)",
        f"faults      {', '.join(faults) if faults else 'none'}"
        f"{'  [fallback]' if t.get('fallback') else ''}{'  [lockout]' if t.get('lockout') else ''}",
    ]
    sha = m.get("sha256")
    sha_text = sha.hex()[:16] if isinstance(sha, bytes | bytearray) else "-"
    model = f"model       {m.get('source')}: {m.get('state')}"
    if m.get("state") != "bound":
        model += f" ({m.get('detail')})"
    out.append(model + f", sha256 {sha_text}")
    out.append(
        f"            {m.get('pipeline')} -> input {m.get('input', [m.get('input_len')])}"
        f", {m.get('classes', '-')} classes, score class {m.get('score_class')}, "
        f"artifact class {m.get('artifact_class')}, every {m.get('infer_every')} hop(s)"
    )
    if "input_scale" in m:
        out.append(
            f"            input scale {m['input_scale']:g} zp {m['input_zero_point']}, "
            f"output scale {m['output_scale']:g} zp {m['output_zero_point']}, "
            f"arena {m.get('arena_bytes')} B"
        )
    out.append(
        f"            score {m.get('score')} ({'valid' if m.get('score_valid') else 'invalid'}),"
        f" class {m.get('class')}; {m.get('inferences')} inferences, "
        f"{m.get('inference_errors')} errors, {m.get('deadline_misses')} deadline misses"
    )
    out.append(
        f"timing      {tm.get('unit')} at {tm.get('hz')} Hz; step budget {tm.get('budget')}, "
        f"inference budget {tm.get('inference_budget')}, overruns {tm.get('overruns')}"
    )
    out.append(f"  {'stage':<11}{'min':>10}{'mean':>10}{'max':>10}{'count':>9}")
    for stage in ("features", "inference", "policy", "supervisor", "step"):
        if stage in tm:
            out.append(_stage_line(stage, tm[stage]))
    out.append(
        f"sensing     {se.get('rate_hz')} Hz x {se.get('channels')} ch, hop "
        f"{se.get('hop_ms')} ms, window {'full' if se.get('window_full') else 'filling'}, "
        f"{se.get('steps')} steps ({se.get('silence_steps')} silence), "
        f"{se.get('restarts')} pipeline restarts"
    )
    out.append("afe link    " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in afe.items()))
    out.append("stim link   " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in stim.items()))
    out.append(
        f"uptime      {int(st.get('uptime_ms', 0)) / 1000:.1f} s "
        f"(loop clock {int(st.get('clock_ms', 0)) / 1000:.2f} s)"
    )
    return "\n".join(out)


@click.command()
@json_option
@pass_state
def status(state: CliState) -> None:
    """Therapy state and output, faults and fallback, model and contract, stage timing
    (cycles: min/mean/max), AFE and stimulator link counters, uptime."""
    with state.device() as dev:
        st = client.status(dev)
    state.emit(st, human=_status_text(st))


# --- stream and log ------------------------------------------------------------------------


def _telemetry_line(r: dict[str, Any]) -> str:
    faults = ",".join(r["fault_names"]) or "-"
    score = f"{r['score']}{'' if r['score_valid'] else '?'}"
    return (
        f"{r['seq']:>8} {r['time_ms'] / 1000:>10.3f}s {score:>7} c{r['model_class']} "
        f"{r['amplitude_ua']:>5}/{r['target_ua']:<5}uA {r['pulse_width_us']:>4}us "
        f"{r['rate_dhz'] / 10:>6.1f}Hz {r['therapy_state']:<8} {r['mode']:<9} "
        f"{r['policy_state']:<22} {faults}"
    )


def _csv_row(r: dict[str, Any]) -> list[Any]:
    f = r["features"] + [""] * (4 - len(r["features"]))
    return [
        r["seq"],
        r["time_ms"],
        r["step"],
        *f,
        r["score"],
        int(r["score_valid"]),
        r["model_class"],
        "|".join(r["fault_names"]),
        r["amplitude_ua"],
        r["target_ua"],
        r["pulse_width_us"],
        r["rate_dhz"],
        int(r["enabled"]),
        r["therapy_state"],
        r["policy_state"],
        r["mode"],
        r["reason"],
    ]


def _warn_lost(lost: int, what: str) -> None:
    if lost:
        click.echo(
            f"theraloop: warning: {lost} {what} lost (overwritten before they were read)",
            err=True,
        )


@click.command()
@click.option(
    "--since", type=click.IntRange(min=0), help="First sequence number (default: oldest held)."
)
@click.option("--follow", "-f", is_flag=True, help="Keep reading new records until interrupted.")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many records.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.01),
    default=0.2,
    show_default=True,
    metavar="SECONDS",
    help="How often --follow asks for new records.",
)
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header line.")
@json_option
@pass_state
def stream(
    state: CliState,
    since: int | None,
    follow: bool,
    count: int | None,
    interval: float,
    as_csv: bool,
) -> None:
    """Telemetry records (one per control step) from sequence --since: features, score,
    faults, stimulation, states. --json prints one JSON object per line."""
    if as_csv and state.json:
        raise UsageError("choose one of --json and --csv")
    writer = csv.writer(sys.stdout, lineterminator="\n") if as_csv else None
    if writer is not None:
        writer.writerow(TELEMETRY_FIELDS)
    shown = 0
    with state.device() as dev:
        try:
            while True:
                page = client.stream(dev, since)
                _warn_lost(page.lost, "records")
                for r in page.records:
                    if writer is not None:
                        writer.writerow(_csv_row(r))
                    elif state.json:
                        click.echo(json.dumps(jsonable(r)))
                    else:
                        click.echo(_telemetry_line(r))
                    shown += 1
                    if count is not None and shown >= count:
                        return
                sys.stdout.flush()
                since = page.next
                if not page.records:
                    if not follow:
                        return
                    time.sleep(interval)
        except KeyboardInterrupt:
            return  # the normal end of --follow


def _stim_text(s: dict[str, Any]) -> str:
    if not s["enabled"]:
        return "off"
    return f"{s['amplitude_ua']} uA {s['pulse_width_us']} us {s['rate_dhz'] / 10:.1f} Hz"


def _event_line(e: dict[str, Any]) -> str:
    head = f"{e['seq']:>6} {e['time_ms'] / 1000:>10.3f}s {e['type']:<14} {e['reason']:<9}"
    if e["type"] == "therapy":
        body = f"{_stim_text(e['before'])} -> {_stim_text(e['after'])}"
    elif e["type"] == "fault":
        body = f"faults {','.join(fault_names(e['detail'])) or 'cleared'}"
    else:
        body = f"detail {e['detail']} aux {e['aux']}"
    return f"{head} {e['therapy_state']:<8} {e['policy_state']:<22} {body}  model {e['model_hash']}"


@click.command()
@click.option(
    "--since", type=click.IntRange(min=0), help="First sequence number (default: oldest held)."
)
@json_option
@pass_state
def log(state: CliState, since: int | None) -> None:
    """The event log: every therapy change (old -> new, reason), fault change, command and
    configuration, with the model hash."""
    events: list[dict[str, Any]] = []
    lost = 0
    with state.device() as dev:
        nxt = since
        while True:
            page = client.log(dev, nxt)
            if nxt == since:
                lost = page.lost
            events.extend(page.records)
            if not page.records:
                break
            nxt = page.next
    _warn_lost(lost, "events")
    state.emit(
        {"events": events, "next": nxt, "lost": lost},
        human="\n".join(_event_line(e) for e in events) or "(no events)",
    )
