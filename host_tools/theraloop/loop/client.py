"""The control loop's management commands on a connected `Device` (SMP theraloop group):
status, configuration get/set, therapy commands, the telemetry stream and the event log.

    with Device(port) as dev:
        config_set(dev, {"policy": "adaptive", "adaptive_threshold_upper": 16384})
        therapy(dev, "start")
        print(status(dev)["therapy"]["amplitude_ua"])
        page = stream(dev, since=0)

A refusal raises `DeviceError` with the device's reason (`.reason`) and a specific code
(`TheraloopErr`, e.g. THERAPY_CHARGE_DENSITY); nothing changed on the device.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from theraloop.device import Device
from theraloop.errors import DeviceProtocolError
from theraloop.loop.records import RECORD_SIZE, decode_events, decode_telemetry
from theraloop.mgmt import (
    ConfigRead,
    ConfigWrite,
    LogRead,
    StatusRead,
    StreamRead,
    TherapyWrite,
)

COMMANDS = ("start", "stop", "pause", "resume")


def status(dev: Device) -> dict[str, Any]:
    """The device's `status` map (docs/protocol.md)."""
    return dev.request(StatusRead()).body()


def config_get(dev: Device, keys: Iterable[str] | None = None) -> dict[str, int | str]:
    """Every configuration field (paged), or the named ones; enumerations by name."""
    names = list(keys) if keys is not None else None
    if names:
        return dict(dev.request(ConfigRead(keys=names)).fields)
    out: dict[str, int | str] = {}
    off = 0
    while True:
        rsp = dev.request(ConfigRead(off=off))
        out.update(rsp.fields)
        if rsp.next is None:
            return out
        if rsp.next <= off:
            raise DeviceProtocolError(f"config paging did not advance (next {rsp.next})")
        off = rsp.next


def config_set(dev: Device, values: Mapping[str, int | str]) -> dict[str, Any]:
    """Set fields atomically; returns the device's answer (model binding, worst case)."""
    return dev.request(ConfigWrite(set=dict(values))).body()


def therapy(dev: Device, cmd: str) -> dict[str, Any]:
    """start / stop / pause / resume; the answer holds the new state."""
    return dev.request(TherapyWrite(cmd=cmd)).body()


@dataclass(frozen=True)
class Page:
    """Records of one `stream` or `log` answer."""

    records: list[dict[str, Any]]
    next: int
    """Ask with since=next for the following records."""
    lost: int
    """Records overwritten on the device before they were read."""
    future: bool
    """`since` was ahead of the device (it restarted): `next` is its oldest record."""


def _page(rsp: Any, decode: Any) -> Page:
    if rsp.size != RECORD_SIZE or len(rsp.records) != rsp.count * RECORD_SIZE:
        raise DeviceProtocolError(
            f"{rsp.count} records of {rsp.size} bytes in {len(rsp.records)} bytes"
        )
    return Page(decode(rsp.records), rsp.next, rsp.lost, rsp.future)


def stream(dev: Device, since: int | None = None, max_records: int | None = None) -> Page:
    """Telemetry records with sequence >= since (None: the oldest the device holds)."""
    return _page(dev.request(StreamRead(since=since, max=max_records)), decode_telemetry)


def log(dev: Device, since: int | None = None, max_records: int | None = None) -> Page:
    """Events with sequence >= since (None: the oldest the device holds)."""
    return _page(dev.request(LogRead(since=since, max=max_records)), decode_events)
