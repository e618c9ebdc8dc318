"""Robot Framework keywords that talk SMP to theraloop firmware running in Renode.

Used by theraloop.robot. The keywords run in renode-test's Python (not inside Renode),
so they use the project's own host tools: run `renode-test` with the project venv
activated (`. .venv/bin/activate`), which has smpclient, and with robotframework
installed into it (`pip install robotframework`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "host_tools"))

from theraloop.device import Device


def _url(port: int | str) -> str:
    return f"socket://127.0.0.1:{int(port)}"


def device_info(port: int | str, timeout: float = 10.0) -> dict[str, Any]:
    """Return the `theraloop info` response as a dict (wire field names)."""
    with Device(_url(port), timeout=timeout, connect_timeout=timeout) as dev:
        return dev.info().to_dict()


def device_echo(port: int | str, text: str, timeout: float = 10.0) -> str:
    """Send an SMP echo and return what the device answered."""
    with Device(_url(port), timeout=timeout, connect_timeout=timeout) as dev:
        return dev.echo(text)


def reset_device_and_wait(port: int | str, timeout: float = 20.0) -> dict[str, Any]:
    """Send an SMP reset, wait for the device to answer again, return its new info."""
    with Device(_url(port), timeout=timeout, connect_timeout=timeout) as dev:
        dev.reset()
        return dev.wait_ready(timeout).to_dict()
