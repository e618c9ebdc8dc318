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


def run_closed_loop_session(
    cli_port: int | str,
    afe_port: int | str,
    stim_port: int | str,
    seconds: float = 10.0,
    seed: int = 1,
) -> dict[str, Any]:
    """Adaptive DBS on the device: configure it over SMP, start therapy, then drive the AFE
    link (usart2) with the virtual beta patient in lockstep with the stimulator link
    (usart3) for `seconds` of signal. Returns the digest of the run, the number of
    control steps, the largest amplitude the device commanded, the configured upper
    limit, and the device's fault/fallback state afterwards."""
    from theraloop.loop import client
    from theraloop.patient import BetaPatient
    from theraloop.sim.lockstep import LockstepSession, SocketEndpoint

    settings = {"model": "beta_biomarker", "policy": "adaptive", "dropout_ms": 0}
    with Device(_url(cli_port), timeout=10.0, connect_timeout=10.0) as dev:
        client.config_set(dev, settings)
        limits = client.config_get(dev, ["amplitude_max_ua", "afe_rate_hz", "hop_samples"])
        client.therapy(dev, "start")
        with SocketEndpoint(_url(afe_port), _url(stim_port)) as ep:
            patient = BetaPatient(int(limits["afe_rate_hz"]), seed=seed)
            session = LockstepSession(
                ep, patient, hop_samples=int(limits["hop_samples"]), seed=seed
            )
            result = session.run(seconds=seconds)
        status = client.status(dev)
        client.therapy(dev, "stop")
    return {
        "digest": result.digest(),
        "steps": len(result.records),
        "max_applied_ua": int(result.records["applied_ua"].max()),
        "amplitude_max_ua": int(limits["amplitude_max_ua"]),
        "status": status,
    }
