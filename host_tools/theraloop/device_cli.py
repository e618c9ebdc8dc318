"""Device commands of the `theraloop` CLI: info, echo, reset, smp."""

from __future__ import annotations

import json
from typing import Any

import click

from theraloop.clikit import CliState, json_option, pass_state, render_table
from theraloop.errors import UsageError


@click.command()
@json_option
@pass_state
def info(state: CliState) -> None:
    """Show the device's firmware version, build, board, uptime, reset reason and fault."""
    with state.device() as dev:
        state.emit(dev.info().to_dict())


@click.command()
@click.argument("text")
@json_option
@pass_state
def echo(state: CliState, text: str) -> None:
    """Send TEXT to the device and print what it echoes back."""
    with state.device() as dev:
        answer = dev.echo(text)
    state.emit({"echo": answer}, human=answer)


@click.command()
@click.option(
    "--wait",
    is_flag=True,
    help="Wait until the device answers again and show why it restarted.",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="How long --wait waits for the device to come back.",
)
@json_option
@pass_state
def reset(state: CliState, wait: bool, wait_timeout: float) -> None:
    """Reset the device (SMP OS group reset)."""
    with state.device() as dev:
        dev.reset()
        if not wait:
            state.emit({"reset": "accepted"})
            return
        # The connection is kept; a port that vanishes while the device restarts (USB
        # CDC) is reopened by wait_ready.
        answer = dev.wait_ready(wait_timeout)
    state.emit(
        {
            "reset": "accepted",
            "reset_reason": answer.reset_reason,
            "uptime_ms": answer.uptime_ms,
        }
    )


def _parse_payload(data: str | None) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise UsageError("--data must be a JSON object (the request's CBOR map)")
    return payload


@click.command()
@click.argument("group", type=click.IntRange(0, 0xFFFF))
@click.argument("command", type=click.IntRange(0, 0xFF))
@click.option("--write", is_flag=True, help="Send a write request (default: read).")
@click.option(
    "--data",
    metavar="JSON",
    help='Request payload as a JSON object, e.g. \'{"d": "hi"}\'.',
)
@json_option
@pass_state
def smp(state: CliState, group: int, command: int, write: bool, data: str | None) -> None:
    """Send a raw SMP request to GROUP/COMMAND and print the answer map.

    For commands the CLI has no verb for yet. Byte strings in the answer are shown as hex.
    """
    payload = _parse_payload(data)
    with state.device() as dev:
        answer = dev.raw(group, command, payload, write=write)
    state.emit(answer, human=render_table(answer) or "(empty answer)")
