"""Errors the host tools raise, each with the CLI exit code it maps to.

Every failure a user can meet is one of these; the CLI prints its message as a single
`theraloop: error: ...` line on stderr and exits with `exit_code`. Library users catch
them by class (`DeviceTimeout` is also a `TimeoutError`, `DeviceUnavailable` a
`ConnectionError`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes of the `theraloop` command (see docs/cli.md)."""

    OK = 0
    DEVICE_ERROR = 1
    """The device answered with an SMP error."""
    USAGE = 2
    """Bad command line (click's own usage errors use this code too)."""
    NO_DEVICE = 3
    """The port cannot be opened, or the connection was lost."""
    TIMEOUT = 4
    """The device did not answer in time."""
    EMULATOR = 5
    """The emulator could not be started or stopped unexpectedly."""
    PROTOCOL = 6
    """The device answered something that is not a valid response."""
    INTERNAL = 70
    """A bug in the host tools (sysexits EX_SOFTWARE)."""


class TheraloopError(Exception):
    """Base class of all errors the host tools report to users."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(TheraloopError):
    """The request cannot be made as given (missing port, bad argument value)."""

    exit_code = ExitCode.USAGE


class DeviceError(TheraloopError):
    """The device answered a request with an SMP error.

    `group` is the SMP group that reported it, `rc` the numeric code and `name` a
    readable name for it (e.g. "ENOTSUP"); `version` is 1 for an SMP v1 `rc` error and
    2 for a v2 `err` map; `reason` is the optional `rsn` text of a v1 error.
    """

    exit_code = ExitCode.DEVICE_ERROR

    def __init__(
        self, group: int, rc: int, name: str, *, version: int, reason: str | None = None
    ) -> None:
        self.group = group
        self.rc = rc
        self.name = name
        self.version = version
        self.reason = reason
        text = f"device returned error {name} (group {group}, rc {rc})"
        if reason:
            text += f": {reason}"
        super().__init__(text)


class DeviceUnavailable(TheraloopError, ConnectionError):
    """The device's port cannot be opened, or the connection to it was lost."""

    exit_code = ExitCode.NO_DEVICE


class DeviceTimeout(TheraloopError, TimeoutError):
    """The device did not answer within the timeout."""

    exit_code = ExitCode.TIMEOUT


class DeviceProtocolError(TheraloopError):
    """The device's answer is not a valid response to the request."""

    exit_code = ExitCode.PROTOCOL


class EmulatorError(TheraloopError):
    """The emulator failed to start, or exited when it should be running."""

    exit_code = ExitCode.EMULATOR
