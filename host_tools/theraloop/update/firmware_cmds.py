"""`theraloop firmware push | confirm | state`: signed firmware updates over SMP.

push: upload to fw_secondary (image 0, slot 1), mark it for a test boot (or keep it with
--confirm), reset, wait for the device to answer again and report old -> new version.
The bootloader checks the image (docs/bootloader.md) and swaps; a test image that is
not confirmed is reverted at the next reset.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import click

from theraloop.clikit import CliState, json_option, pass_state
from theraloop.device import Device
from theraloop.errors import DeviceProtocolError
from theraloop.update.cli_common import image_json, make_options, signing_options, upload_with_bar
from theraloop.update.client import (
    FIRMWARE_IMAGE,
    ImageSlotState,
    UpdateError,
    image_states,
    set_image_state,
)
from theraloop.update.image import prepare_firmware_image

_BOOT_KEY_PREFIXES = ("boot", "image")


def _running(dev: Device) -> dict[str, Any]:
    """Firmware version (info), the running image's version/hash (image state), boot keys."""
    info = dev.info().to_dict()
    primary = next(
        (s for s in image_states(dev) if s.image == FIRMWARE_IMAGE and s.slot == 0), None
    )
    out: dict[str, Any] = {
        "version": info.get("version"),
        "image_version": primary.version if primary else None,
        "hash": primary.hash.hex() if primary and primary.hash else None,
    }
    out.update({k: v for k, v in info.items() if k.startswith(_BOOT_KEY_PREFIXES)})
    return out


def render_states(states: list[ImageSlotState]) -> str:
    header = ("image", "slot", "version", "hash", "flags")
    rows = [header]
    for s in sorted(states, key=lambda s: (s.image, s.slot)):
        flags = [
            name
            for name, on in (
                ("bootable", s.bootable),
                ("pending", s.pending),
                ("confirmed", s.confirmed),
                ("active", s.active),
                ("permanent", s.permanent),
            )
            if on
        ]
        kind = "firmware" if s.image == FIRMWARE_IMAGE else "model"
        rows.append(
            (
                f"{s.image} ({kind})",
                str(s.slot),
                s.version or "-",
                s.hash.hex()[:16] if s.hash else "-",
                " ".join(flags),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )


def _states_json(states: list[ImageSlotState]) -> dict[str, Any]:
    return {"images": [s.to_json() for s in states]}


@click.group()
def firmware() -> None:
    """Update the device's firmware over SMP (signed images, bootloader swap)."""


@firmware.command()
@click.argument("image_file", metavar="IMAGE", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--confirm",
    is_flag=True,
    help="Keep the new image at once (no test boot; a bad image is not reverted).",
)
@click.option("--no-reset", is_flag=True, help="Upload and mark it, but do not reset.")
@click.option(
    "--timeout",
    "wait_timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the device to answer after the reset.",
)
@signing_options
@json_option
@pass_state
def push(
    state: CliState,
    image_file: Path,
    confirm: bool,
    no_reset: bool,
    wait_timeout: float,
    key: Path | None,
    image_version: str | None,
    security_counter: str | None,
) -> None:
    """Upload a firmware IMAGE to the secondary slot, test-boot it, report the versions.

    IMAGE is a signed firmware image, or an ELF/.bin linked at 0x08020200 that is signed
    first (--key, --version). Confirm the new firmware with `theraloop firmware confirm`
    once it runs; otherwise the bootloader reverts it at the next reset.
    """
    opts = make_options(key, image_version, security_counter)
    with tempfile.TemporaryDirectory(prefix="theraloop-fw-") as tmp:
        image = prepare_firmware_image(image_file, opts, Path(tmp))
    with state.device() as dev:
        old = _running(dev)
        result = upload_with_bar(
            dev, image, image_number=FIRMWARE_IMAGE, label="firmware", quiet=state.json
        )
        uploaded = next(
            (s for s in image_states(dev) if s.image == FIRMWARE_IMAGE and s.hash == image.hash),
            None,
        )
        if uploaded is None or uploaded.slot != 1:
            raise DeviceProtocolError(
                f"upload done, but the secondary slot does not report image hash "
                f"{image.hash.hex()[:16]}"
            )
        states = set_image_state(dev, image.hash, confirm=confirm)
        new: dict[str, Any] | None = None
        if not no_reset:
            dev.reset()
            dev.wait_ready(wait_timeout)
            new = _running(dev)
    data: dict[str, Any] = {
        **image_json(image),
        "file": str(image_file),
        "upload": result.to_json(),
        "mode": "confirm" if confirm else "test",
        "reset": not no_reset,
        "old": old,
        "new": new,
        "states": _states_json(states)["images"],
    }
    if new is not None and new.get("hash") != image.hash.hex():
        raise UpdateError(
            f"the device came back running {new.get('image_version') or new.get('version')} "
            f"(hash {str(new.get('hash'))[:16]}), not the uploaded {image.version}: the "
            "bootloader refused or reverted it"
        )
    data["updated"] = new is not None
    lines = [
        f"uploaded {image_file.name}: {image.size:,} bytes in {result.seconds:.1f} s "
        f"({result.rate / 1024:.1f} KiB/s), version {image.version}, hash "
        f"{image.hash.hex()[:16]}, marked {'confirmed' if confirm else 'for test'}"
    ]
    if new is None:
        lines.append("not reset (--no-reset): the bootloader installs it at the next reset")
    else:
        lines.append(
            f"firmware {old.get('image_version') or old.get('version')} -> "
            f"{new.get('image_version') or new.get('version')}"
            + ("" if confirm else " (on test: `theraloop firmware confirm` keeps it)")
        )
    state.emit(data, "\n".join(lines))


@firmware.command()
@json_option
@pass_state
def confirm(state: CliState) -> None:
    """Keep the running firmware (ends its test boot; image state write confirm)."""
    with state.device() as dev:
        states = set_image_state(dev, None, confirm=True)
    state.emit(_states_json(states), render_states(states))


@firmware.command(name="state")
@json_option
@pass_state
def state_(state: CliState) -> None:
    """Image states of both images (firmware slots 0/1, model slots a/b)."""
    with state.device() as dev:
        states = image_states(dev)
    state.emit(_states_json(states), render_states(states))
