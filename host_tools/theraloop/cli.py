"""The `theraloop` command: talk to a device over SMP, run the firmware in QEMU.

Exit codes (docs/cli.md): 0 ok, 1 device returned an error, 2 usage, 3 no device /
cannot connect, 4 timeout, 5 emulator failed, 6 invalid answer from the device,
70 internal error, 130 interrupted. Every failure prints exactly one line on stderr:
`theraloop: error: ...`.

Command groups are registered in one place, at the end of this file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from theraloop import __version__
from theraloop.bench.cli import bench
from theraloop.bench_loop import bench_loop
from theraloop.clikit import PROG, CliState, configure_logging
from theraloop.device import DEFAULT_TIMEOUT_S
from theraloop.device_cli import echo, info, reset, smp
from theraloop.errors import ExitCode, TheraloopError
from theraloop.flash.cli import flash
from theraloop.model.cli import model
from theraloop.sign import sign
from theraloop.sim.cli import demo, sim
from theraloop.therapy_cli import config, log, status, stream, therapy
from theraloop.update.firmware_cmds import firmware

logger = logging.getLogger(__name__)

_INTERRUPTED = 130


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"{PROG}: error: {message}", err=True)
    sys.exit(code)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class TheraloopGroup(click.Group):
    """The top-level group: turns every failure into one stderr line and an exit code."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name or PROG, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            _fail(_one_line(exc.format_message()) + hint, exc.exit_code)
        except click.ClickException as exc:
            _fail(_one_line(exc.format_message()), exc.exit_code)
        except click.Abort:
            _fail("interrupted", _INTERRUPTED)
        except TheraloopError as exc:
            logger.debug("failure", exc_info=True)
            _fail(_one_line(str(exc)), exc.exit_code)
        except Exception as exc:
            logger.error("internal error", exc_info=True)
            _fail(
                f"internal error: {_one_line(repr(exc))} (run with -v for details)",
                ExitCode.INTERNAL,
            )
        sys.exit(rv if isinstance(rv, int) else ExitCode.OK)


@click.group(cls=TheraloopGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-p",
    "--port",
    envvar="THERALOOP_PORT",
    metavar="PORT",
    help="Device port: serial device or pty (/dev/ttyACM0, /dev/pts/3) or "
    "socket://HOST:PORT. [env: THERALOOP_PORT]",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    envvar="THERALOOP_TIMEOUT",
    metavar="SECONDS",
    help="How long to wait for each answer from the device. [env: THERALOOP_TIMEOUT]",
)
@click.option("--json", "json_output", is_flag=True, help="Print results as one JSON object.")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-vv: with SMP traffic).")
@click.version_option(__version__, prog_name=PROG, message="%(prog)s %(version)s")
@click.pass_context
def main(
    ctx: click.Context, port: str | None, timeout: float, json_output: bool, verbose: int
) -> None:
    """theraloop host tool: manage a theraloop device and run its firmware in QEMU."""
    configure_logging(verbose)
    ctx.obj = CliState(port=port, timeout=timeout, json=json_output, verbose=verbose)


# --- command registry: every command and group of the CLI is added here ----------------
main.add_command(info)
main.add_command(echo)
main.add_command(reset)
main.add_command(smp)
main.add_command(sim)
main.add_command(demo)
main.add_command(model)
main.add_command(bench)
main.add_command(config)
main.add_command(therapy)
main.add_command(status)
main.add_command(stream)
main.add_command(log)
main.add_command(bench_loop)
main.add_command(flash)
main.add_command(sign)
main.add_command(firmware)
