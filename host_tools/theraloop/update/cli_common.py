"""What the model and firmware update commands share: signing options, the upload bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from theraloop.device import Device
from theraloop.sign import check_security_counter, check_version
from theraloop.update.client import UploadResult, upload
from theraloop.update.image import SignedImageFile, SigningOptions


def _version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else check_version(value)


def _counter(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else check_security_counter(value)


def signing_options(func: Any) -> Any:
    """--key, --version, --security-counter: used when the file is signed first."""
    func = click.option(
        "--security-counter",
        callback=_counter,
        metavar="N|auto",
        help="Security counter when signing. [default: auto, from --version]",
    )(func)
    func = click.option(
        "--version",
        "image_version",
        callback=_version,
        metavar="X.Y.Z[+B]",
        help="Version when signing. [default: 0.0.0]",
    )(func)
    return click.option(
        "-k",
        "--key",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Ed25519 key when signing. [default: $THERALOOP_SIGNING_KEY, else "
        "keys/dev-ed25519.pem]",
    )(func)


def make_options(key: Path | None, version: str | None, counter: str | None) -> SigningOptions:
    return SigningOptions(key=key, version=version, security_counter=counter)


def upload_with_bar(
    dev: Device, image: SignedImageFile, *, image_number: int, label: str, quiet: bool
) -> UploadResult:
    """Upload with a progress bar on stderr (bytes, rate; hidden when not a terminal)."""
    with tqdm(
        total=image.size,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        disable=True if quiet else None,
        leave=False,
    ) as bar:

        def advance(off: int) -> None:
            bar.update(off - bar.n)

        return upload(dev, image.data, image=image_number, progress=advance)


def image_json(image: SignedImageFile) -> dict[str, Any]:
    return {
        "file": image.name,
        "bytes": image.size,
        "version": image.version,
        "hash": image.hash.hex(),
        "security_counter": image.security_counter,
    }
