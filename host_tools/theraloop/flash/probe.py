"""Program an image through a debug probe with pyOCD (CMSIS-DAP, ST-Link, J-Link).

pyOCD is imported only when this runs: it is slow to import and `--gdb` does not need it.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from theraloop.errors import DeviceProtocolError, DeviceUnavailable, UsageError
from theraloop.flash.image import Image

logger = logging.getLogger(__name__)


class NoProbeError(DeviceUnavailable):
    """No debug probe (or none with the requested unique id) is attached."""


@dataclass(frozen=True)
class ProbeResult:
    probe: str
    target: str | None
    bytes_written: int
    verified: bool
    reset: bool


def program_with_probe(
    image: Image,
    *,
    probe_id: str | None,
    target: str | None,
    verify: bool,
    reset: bool,
    on_progress: Callable[[float], None] | None = None,
) -> ProbeResult:
    """Program `image` with the chosen probe, read it back, reset the target."""
    try:
        from pyocd.core.exceptions import Error as PyocdError
        from pyocd.core.helpers import ConnectHelper
        from pyocd.flash.file_programmer import FileProgrammer
    except ImportError as exc:  # pragma: no cover - pyocd is a dependency
        raise UsageError(f"pyOCD is not installed ({exc}); pip install pyocd") from exc

    options: dict[str, Any] = {} if target is None else {"target_override": target}
    try:
        # pyOCD prints its own (coloured) "No connected debug probes" on stdout; the
        # CLI reports that as its one error line instead.
        with contextlib.redirect_stdout(io.StringIO()):
            session = ConnectHelper.session_with_chosen_probe(
                blocking=False, unique_id=probe_id, auto_open=False, options=options
            )
    except PyocdError as exc:
        raise DeviceUnavailable(f"cannot use the debug probe: {exc}") from exc
    if session is None:
        which = f"none with unique id {probe_id!r}" if probe_id else "none attached"
        raise NoProbeError(
            f"no debug probe found ({which}; connect an ST-Link or CMSIS-DAP probe, "
            "or use --gdb HOST:PORT)"
        )
    probe_name = str(session.probe.unique_id)
    try:
        with session:
            programmer = FileProgrammer(session, progress=on_progress)
            if image.kind == "elf":
                programmer.program(str(image.path), file_format="elf")
            else:
                programmer.program(str(image.path), file_format="bin", base_address=image.base)
            if verify:
                mem = session.target
                for seg in image.segments:
                    got = bytes(mem.read_memory_block8(seg.address, len(seg.data)))
                    if got != seg.data:
                        pairs = enumerate(zip(got, seg.data, strict=True))
                        bad = next(i for i, (a, b) in pairs if a != b)
                        raise DeviceProtocolError(
                            f"verify failed at {seg.address + bad:#010x}: wrote "
                            f"{seg.data[bad]:#04x}, read back {got[bad]:#04x}"
                        )
            if reset:
                session.target.reset()
    except PyocdError as exc:
        raise DeviceProtocolError(f"pyOCD failed: {exc}") from exc
    return ProbeResult(probe_name, target, image.size, verify, reset)
