"""The ``theraloop model`` commands: inspect, convert, verify.

Exit codes: 0 ok (verify: bit-exact), 1 verify found differences, 2 the model is
invalid or unsupported, or the command line is wrong (one ``theraloop: error:`` line).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from theraloop.clikit import CliState, jsonable, pass_state
from theraloop.model.convert import convert_file
from theraloop.model.errors import ModelRejected
from theraloop.model.report import build_report, render_report
from theraloop.model.tflite_file import ModelFormatError, parse
from theraloop.model.train_cli import eval_, train
from theraloop.model.verify import VerifyResult, verify_model
from theraloop.update.model_cmds import MODEL_UPDATE_COMMANDS

_MODEL_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_JSON_HELP = "Print the result as one JSON object (same as the global --json)."


def _emit_json(data: dict[str, Any]) -> None:
    click.echo(json.dumps(jsonable(data), separators=(", ", ": ")))


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelRejected(f"{path}: cannot read: {e.strerror or e}") from e


def _global_port(ctx: click.Context) -> str | None:
    """`theraloop --port PORT model verify ...`: the global option, when it was given on
    the command line (not merely set in THERALOOP_PORT, which would make every verify
    talk to a device)."""
    root = ctx.find_root()
    if root is ctx or root.params.get("port") is None:
        return None
    if root.get_parameter_source("port") != click.core.ParameterSource.COMMANDLINE:
        return None
    port = root.params["port"]
    return str(port) if port else None


@click.group()
def model() -> None:
    """Inspect, convert, verify .tflite models; push, list, activate models on a device."""


@model.command()
@click.argument("file", type=_MODEL_FILE)
@click.option("--json", "json_output", is_flag=True, help=_JSON_HELP)
@pass_state
def inspect(state: CliState, file: Path, json_output: bool) -> None:
    """Ops, tensors, quantization, MACs, exact arena, flash; supported or why not.

    The arena size comes from the engine's own planner (host build); where the
    engine library is not built, everything else is still shown.
    """
    data = _read(file)
    try:
        model_ = parse(data)
    except ModelFormatError as e:
        raise ModelRejected(f"{file}: not a valid .tflite model: {e}") from e
    report = build_report(data, str(file), model_)
    if json_output or state.json:
        _emit_json(report)
    else:
        click.echo(render_report(report))


@model.command()
@click.argument("file", type=_MODEL_FILE)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for NAME.c and NAME.h (created if missing).",
)
@click.option("--name", help="C name of the model (default: from the file name).")
@click.option("--json", "json_output", is_flag=True, help=_JSON_HELP)
@pass_state
def convert(
    state: CliState, file: Path, out_dir: Path, name: str | None, json_output: bool
) -> None:
    """Write the model as C source: an alignas(16) const array and a tl_model_info_t.

    The metadata holds the file's SHA-256, the input/output shapes and quantization,
    the exact arena bytes, the MACs and the op list (see theraloop/nn/model_info.h).
    """
    done = convert_file(file, out_dir, name)
    result = {
        "name": done.name,
        "source": str(done.c_path),
        "header": str(done.h_path),
        "model_bytes": done.size,
        "arena_bytes": done.arena_bytes,
        "macs": done.macs,
    }
    if json_output or state.json:
        _emit_json(result)
    else:
        click.echo(
            f"wrote {done.c_path} and {done.h_path}: {done.size:,} bytes of model, "
            f"arena {done.arena_bytes:,} bytes, {done.macs:,} MACs"
        )


def _verify_text(r: VerifyResult, file: Path) -> str:
    kinds = ", ".join(f"{n} {k}" for k, n in r.kinds.items())
    if r.device is None:
        return _target_text(r, f"{file}", kinds)
    info = r.device_info
    kernels = "DSP kernels" if info.get("dsp") else "portable kernels"
    verdict = "bit-exact" if r.bit_exact else "NOT bit-exact"
    lines = [
        f"{file}: {verdict} on {r.cases} cases ({kinds}): tflite-micro, host engine and "
        f"device ({info.get('port')}, {kernels}) " + ("all agree" if r.bit_exact else "differ"),
        _target_text(r, "  host engine", kinds),
        _target_text(r.device, "  device", kinds),
    ]
    if info.get("arena_matches_host") is False:
        lines.append(
            f"  arena: device {info['arena_bytes']:,} bytes, host {info['arena_bytes_host']:,}"
        )
    return "\n".join(lines)


def _target_text(r: VerifyResult, label: str, kinds: str) -> str:
    if r.own_bit_exact:
        return f"{label}: bit-exact on {r.cases} cases ({kinds})"
    lines = [
        f"{label}: NOT bit-exact: {r.mismatched_cases} of {r.cases} cases differ "
        f"({kinds}); max abs diff {r.own_max_abs_diff}"
    ]
    for o in r.outputs:
        if o.shape_mismatch:
            lines.append(f"  output {o.index} ({o.name}): shape/type {o.shape_mismatch}")
        elif o.mismatched_elements:
            lines.append(
                f"  output {o.index} ({o.name}): {o.mismatched_elements} of {o.elements} "
                f"elements differ in {o.mismatched_cases} cases, max abs diff {o.max_abs_diff}"
            )
    if r.first_mismatch is not None:
        fm = r.first_mismatch
        if "error" in fm:
            lines.append(f"  first: case {fm['case']} ({fm['kind']}): {fm['error']}")
        else:
            lines.append(
                f"  first: case {fm['case']} ({fm['kind']}) output {fm['output']} "
                f"at {fm['index']}: reference {fm['reference']}, engine {fm['engine']}"
            )
    return "\n".join(lines)


@model.command()
@click.argument("file", type=_MODEL_FILE)
@click.option(
    "--cases",
    "n_cases",
    type=click.IntRange(min=0),
    default=200,
    show_default=True,
    help="Random cases (on top of the edge patterns and --data).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random cases.")
@click.option(
    "--data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Real inputs: .npy (one input) or .npz (one array per input), [N, *shape]; "
    "float data is quantized with the input's scale and zero point.",
)
@click.option(
    "-p",
    "--port",
    metavar="PORT",
    help="Also run every case on the device at PORT (serial device, pty or "
    "socket://HOST:PORT): the model is uploaded and loaded there, replacing the one "
    "it runs. The global --port works too.",
)
@click.option("--json", "json_output", is_flag=True, help=_JSON_HELP)
@click.pass_context
def verify(
    ctx: click.Context,
    file: Path,
    n_cases: int,
    seed: int,
    data: Path | None,
    port: str | None,
    json_output: bool,
) -> None:
    """Run inputs through the tflite-micro reference and our engine; compare bit by bit.

    Cases: edge patterns (int8 min, max, zero point, alternating; rounding ties for
    float inputs), --cases uniform random inputs, and --data. With --port the same
    cases also run on the device's engine. Exit 0 when every output element is
    identical everywhere, 1 when any differs, 2 for an invalid or unsupported model.
    """
    state = ctx.find_object(CliState) or CliState()
    port = port or _global_port(ctx)
    model_bytes = _read(file)
    result = verify_model(
        model_bytes,
        str(file),
        n_random=n_cases,
        seed=seed,
        data=data,
        port=port,
        timeout=state.timeout,
        progress=True,
    )
    result.extra = {"file": str(file)}
    if json_output or state.json:
        _emit_json(result.to_json())
    else:
        click.echo(_verify_text(result, file))
    ctx.exit(0 if result.bit_exact else 1)


model.add_command(train)
model.add_command(eval_)
for _command in MODEL_UPDATE_COMMANDS:  # push, list, activate, confirm, rollback
    model.add_command(_command)
