"""Where the source tree, its settings files and the default build outputs are."""

from __future__ import annotations

import os
from pathlib import Path

from theraloop.errors import UsageError

QEMU_SETTINGS = Path("sim/qemu/netduinoplus2.toml")
"""Launch settings of the QEMU runner, relative to the repository root."""

FIRMWARE_ELF = Path("build/stm32f4/firmware/boards/stm32f4/theraloop.elf")
"""Where `make firmware` puts the firmware image, relative to the repository root."""

HOST_BUILD = Path("build/host")
"""Where `make host` builds the host port (theraloop-host), relative to the root."""


class SourceTreeNotFound(UsageError):
    """The host tools run outside a theraloop source tree and THERALOOP_ROOT is unset."""


def repo_root() -> Path:
    """The theraloop source tree these host tools belong to.

    `THERALOOP_ROOT` wins; otherwise the directories above this package are searched for
    `sim/qemu/netduinoplus2.toml` (an editable install lives in the tree).
    """
    env = os.environ.get("THERALOOP_ROOT")
    if env:
        root = Path(env).expanduser().resolve()
        if not (root / QEMU_SETTINGS).is_file():
            raise SourceTreeNotFound(
                f"THERALOOP_ROOT={env} is not a theraloop source tree (no {QEMU_SETTINGS})"
            )
        return root
    here = Path(__file__).resolve().parent
    for candidate in here.parents:
        if (candidate / QEMU_SETTINGS).is_file():
            return candidate
    raise SourceTreeNotFound(
        f"cannot find the theraloop source tree above {here} (looked for {QEMU_SETTINGS}); "
        "run from a checkout or set THERALOOP_ROOT"
    )


def default_elf() -> Path:
    """The firmware image to run: `THERALOOP_ELF`, else the tree's firmware build."""
    env = os.environ.get("THERALOOP_ELF")
    if env:
        return Path(env).expanduser()
    return repo_root() / FIRMWARE_ELF


def host_build_dir() -> Path:
    """The host build tree: `THERALOOP_HOST_BUILD`, else the tree's `build/host`."""
    env = os.environ.get("THERALOOP_HOST_BUILD")
    if env:
        return Path(env).expanduser()
    return repo_root() / HOST_BUILD


SIGNING_KEY = Path("keys/dev-ed25519.pem")
"""The development signing key (Ed25519, `imgtool keygen -t ed25519`), relative to the root.

The firmware's built-in public key is generated from it at build time, so images signed
with it are accepted by devices built from the same tree.
"""


def default_signing_key() -> Path:
    """The key to sign images with: `THERALOOP_SIGNING_KEY`, else the tree's dev key."""
    env = os.environ.get("THERALOOP_SIGNING_KEY")
    if env:
        return Path(env).expanduser()
    return repo_root() / SIGNING_KEY
