"""What every `theraloop` command shares: global options, output, opening the device.

Command groups written elsewhere (e.g. `theraloop model`) use it like this:

    @click.command()
    @pass_state
    def status(state: CliState) -> None:
        with state.device() as dev:
            state.emit({"board": dev.info().board})

and raise a `theraloop.errors.TheraloopError` subclass on failure: the top-level command
prints it as one `theraloop: error: ...` line and exits with its code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import click

from theraloop.device import Device
from theraloop.errors import UsageError

PROG = "theraloop"

HEX_FIELDS = frozenset({"pc", "lr", "xpsr", "sp", "cfsr", "hfsr", "mmfar", "bfar"})
"""Fields shown in hex in human output (register values)."""


@dataclass
class CliState:
    """The global options, available to every command as `click` context object."""

    port: str | None = None
    timeout: float = 3.0
    json: bool = False
    verbose: int = 0

    def require_port(self) -> str:
        if not self.port:
            raise UsageError("no device port given: use --port PORT or set THERALOOP_PORT")
        return self.port

    def device(self, *, connect_timeout: float = 0.0) -> Device:
        """An opened `Device` on --port (use as a context manager)."""
        dev = Device(self.require_port(), timeout=self.timeout, connect_timeout=connect_timeout)
        try:
            dev.open()
        except BaseException:
            dev.close()
            raise
        return dev

    def emit(self, data: Mapping[str, Any], human: str | None = None) -> None:
        """Print a result: one JSON object with --json, else `human` (default: a table)."""
        if self.json:
            click.echo(json.dumps(jsonable(data), separators=(", ", ": ")))
        else:
            click.echo(human if human is not None else render_table(data))


pass_state = click.make_pass_decorator(CliState, ensure=True)


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(CliState).json = True


json_option = click.option(
    "--json",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="Print the result as one JSON object (same as the global --json).",
)
"""`--json` after a command (`theraloop info --json`), as well as before it."""


def jsonable(value: Any) -> Any:
    """`value` with bytes turned into hex strings (CBOR byte strings have no JSON type)."""
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def flatten(data: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested maps as dotted keys: {"fault": {"pc": 1}} -> ("fault.pc", 1)."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from flatten(value, f"{name}.")
        else:
            yield name, value


def format_value(key: str, value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and key.rsplit(".", 1)[-1] in HEX_FIELDS:
        return f"0x{value:08x}"
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(jsonable(value)) if value else "none"
    return str(value)


def render_table(data: Mapping[str, Any]) -> str:
    """Aligned `key  value` lines, nested maps flattened to dotted keys."""
    rows = [(key, format_value(key, value)) for key, value in flatten(data)]
    if not rows:
        return ""
    width = max(len(key) for key, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def configure_logging(verbose: int) -> None:
    """Logs go to stderr only with -v (INFO) or -vv (DEBUG, includes SMP traffic).

    Without -v nothing is logged: failures are reported once, by the error line.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_theraloop", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._theraloop = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(f"{PROG}: %(levelname)s: %(name)s: %(message)s"))
    root.addHandler(handler)
    if verbose <= 0:
        root.setLevel(logging.CRITICAL + 10)
    elif verbose == 1:
        root.setLevel(logging.INFO)
    else:
        root.setLevel(logging.DEBUG)
