"""`theraloop model push | list | activate | confirm | rollback`: models in the flash slots.

Registered on the `theraloop model` group (model/cli.py). Wire format: update/client.py;
device side: docs/model-update.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.errors import DeviceError, TheraloopError, UsageError
from theraloop.update.cli_common import image_json, make_options, signing_options, upload_with_bar
from theraloop.update.client import (
    MODEL_IMAGE,
    SLOT_NAMES,
    UpdateError,
    model_activate,
    model_confirm,
    model_list,
    model_rollback,
    parse_slot,
    slot_with_hash,
)
from theraloop.update.image import prepare_model_image


def _hex(value: Any, n: int = 16) -> str:
    if isinstance(value, bytes | bytearray):
        return value.hex()[:n] if value else "-"
    return "-" if value is None else str(value)


def _slot_name(slot: Any) -> str:
    return SLOT_NAMES[slot] if slot in (0, 1) else "factory" if slot == -1 else str(slot)


def _active_text(listing: dict[str, Any]) -> str:
    active = listing.get("active") or {}
    slot = active.get("slot")
    where = f"slot {_slot_name(slot)}" if slot in (0, 1) else "factory model"
    text = f"active: {where} ({active.get('source', '?')}, sha256 {_hex(active.get('hash'))})"
    test = listing.get("test")
    if isinstance(test, dict):
        text += (
            f"; on test: slot {_slot_name(test.get('slot'))}, {test.get('steps', '?')} of "
            f"{test.get('confirm_after', '?')} steps before it is kept"
        )
    if listing.get("previous"):
        text += f"; previous: {listing['previous']}"
    return text


def render_listing(listing: dict[str, Any]) -> str:
    """`model list` as a table: one row per slot, then the factory models."""
    active = listing.get("active") or {}
    test = listing.get("test") if isinstance(listing.get("test"), dict) else {}
    header = ("slot", "area", "state", "version", "image hash", "model sha256", "bytes", "")
    rows = [header]
    for entry in sorted(listing["slots"], key=lambda e: e["slot"]):
        marks = []
        if active.get("slot") == entry["slot"]:
            marks.append("active")
        if test and test.get("slot") == entry["slot"]:
            marks.append("test")
        if entry.get("error"):
            marks.append(f"error: {entry['error']}")
        size = entry.get("size")
        rows.append(
            (
                _slot_name(entry["slot"]),
                str(entry.get("area", "-")),
                str(entry.get("state", "-")),
                str(entry.get("version") or "-"),
                _hex(entry.get("hash")),
                _hex(entry.get("model_sha256")),
                f"{size:,}" if isinstance(size, int) and size else "-",
                ", ".join(marks),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    factory = listing.get("factory") or []
    names = ", ".join(
        str(f.get("name", "?")) + (" (active)" if active.get("source") == f.get("name") else "")
        for f in factory
        if isinstance(f, dict)
    )
    lines.append(f"factory: {names or 'none'}")
    lines.append(_active_text(listing))
    if listing.get("confirm_after") is not None:
        lines.append(f"confirm_after: {listing['confirm_after']} steps (default of a test)")
    return "\n".join(lines)


def _refusal_reason(dev: Any, image_hash: bytes) -> str:
    """': <reason>' from the slot that received a refused image, or ''."""
    try:
        listing = model_list(dev)
    except TheraloopError:
        return ""
    entry = slot_with_hash(listing, image_hash)
    if entry is None:  # refused before its hash was known: the slot that holds an error
        entry = next((e for e in listing.get("slots", []) if e.get("error")), None)
    if entry is None or not entry.get("error"):
        return ""
    return f": {entry['error']}"


def _check_activation(confirm: bool, confirm_after: int | None) -> None:
    if confirm and confirm_after is not None:
        raise UsageError("--confirm keeps the model at once; --confirm-after is for a test")


def _default_slot(listing: dict[str, Any]) -> int:
    """The valid slot that is not active, when there is exactly one."""
    active = (listing.get("active") or {}).get("slot")
    valid = [e["slot"] for e in listing["slots"] if e.get("state") == "valid"]
    candidates = [s for s in valid if s != active]
    if len(candidates) == 1:
        return int(candidates[0])
    states = ", ".join(
        f"{_slot_name(e['slot'])} {e.get('state', '?')}"
        + (" (active)" if e["slot"] == active else "")
        for e in sorted(listing["slots"], key=lambda e: e["slot"])
    )
    if not candidates:
        raise UpdateError(f"no valid model slot to activate ({states})")
    raise UsageError(f"both slots hold a valid model that is not active ({states}): give SLOT")


confirm_option = click.option(
    "--confirm",
    is_flag=True,
    help="Keep the model at once (no test period).",
)
confirm_after_option = click.option(
    "--confirm-after",
    type=click.IntRange(min=1),
    metavar="N",
    help="Test for N control steps, then keep it if it ran without faults "
    "[default: the device's confirm_after].",
)


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--activate", is_flag=True, help="Activate the model once it is uploaded.")
@confirm_option
@confirm_after_option
@signing_options
@json_option
@pass_state
def push(
    state: CliState,
    file: Path,
    activate: bool,
    confirm: bool,
    confirm_after: int | None,
    key: Path | None,
    image_version: str | None,
    security_counter: str | None,
) -> None:
    """Upload a model to the free model slot (image 1), optionally activate it.

    FILE is a signed model image or a .tflite, which is signed first (--key, --version).
    The device checks the image (signature, engine, contract) when the last byte is in.
    """
    if (confirm or confirm_after is not None) and not activate:
        raise UsageError("--confirm and --confirm-after need --activate")
    _check_activation(confirm, confirm_after)
    opts = make_options(key, image_version, security_counter)
    with tempfile.TemporaryDirectory(prefix="theraloop-model-") as tmp:
        image = prepare_model_image(file, opts, Path(tmp))
    with state.device() as dev:
        try:
            result = upload_with_bar(
                dev, image, image_number=MODEL_IMAGE, label="model", quiet=state.json
            )
        except DeviceError as exc:
            # The image group's error code says which check failed; the slot says why.
            raise UpdateError(f"{exc}{_refusal_reason(dev, image.hash)}") from exc
        listing = model_list(dev)
        entry = slot_with_hash(listing, image.hash)
        if entry is None:
            raise UpdateError(
                f"upload done, but no model slot reports image hash {image.hash.hex()[:16]}"
            )
        if entry.get("state") != "valid":
            why = entry.get("error") or "no reason given"
            raise UpdateError(
                f"model in slot {_slot_name(entry['slot'])} is {entry.get('state')}: {why}"
            )
        if activate:
            listing = model_activate(
                dev, int(entry["slot"]), confirm=confirm, confirm_after=confirm_after
            )
    data: dict[str, Any] = {
        **image_json(image),
        "file": str(file),
        "slot": entry["slot"],
        "slot_name": _slot_name(entry["slot"]),
        "state": entry.get("state"),
        "model_sha256": entry.get("model_sha256"),
        "upload": result.to_json(),
        "activated": activate,
        "model": listing,
    }
    resumed = f", resumed at {result.resumed_from:,}" if result.resumed_from else ""
    human = (
        f"uploaded {file.name} -> slot {_slot_name(entry['slot'])}: {image.size:,} bytes in "
        f"{result.seconds:.1f} s ({result.rate / 1024:.1f} KiB/s{resumed}), version "
        f"{image.version}, image hash {image.hash.hex()[:16]}, {entry.get('state')}"
    )
    if activate:
        human += "\n" + _active_text(listing)
    state.emit(data, human)


@click.command(name="list")
@json_option
@pass_state
def list_(state: CliState) -> None:
    """The model slots (state, version, hashes), the factory models and what runs."""
    with state.device() as dev:
        listing = model_list(dev)
    state.emit(listing, render_listing(listing))


@click.command()
@click.argument("slot", required=False)
@confirm_option
@confirm_after_option
@json_option
@pass_state
def activate(state: CliState, slot: str | None, confirm: bool, confirm_after: int | None) -> None:
    """Run the model in SLOT (a, b, 0 or 1; default: the valid slot not active).

    Without --confirm the model runs on test: the device keeps it after --confirm-after
    control steps without a fault, or goes back to the previous model.
    """
    _check_activation(confirm, confirm_after)
    number = parse_slot(slot) if slot is not None else None
    with state.device() as dev:
        if number is None:
            number = _default_slot(model_list(dev))
        listing = model_activate(dev, number, confirm=confirm, confirm_after=confirm_after)
    state.emit(listing, _active_text(listing))


@click.command()
@json_option
@pass_state
def confirm(state: CliState) -> None:
    """Keep the model on test now (ends its test period)."""
    with state.device() as dev:
        listing = model_confirm(dev)
    state.emit(listing, _active_text(listing))


@click.command()
@click.option("--factory", is_flag=True, help="Go back to the factory model instead.")
@json_option
@pass_state
def rollback(state: CliState, factory: bool) -> None:
    """Go back to the previous model (or, with --factory, the factory model)."""
    with state.device() as dev:
        listing = model_rollback(dev, factory=factory)
    state.emit(listing, _active_text(listing))


MODEL_UPDATE_COMMANDS = (push, list_, activate, confirm, rollback)
"""Added to the `theraloop model` group by model/cli.py."""
