"""SMP message models of the theraloop management group (group 64), and error helpers.

Defined like smp's own groups (pydantic models with `_GROUP_ID`, `_COMMAND_ID` and, via
`ReadRequest`/`WriteRequest`, `_OP`), and paired with their response and error types like
smpclient's requests, so `SMPClient.request()` handles them as any built-in group.
See docs/protocol.md for the wire contract.
"""

from __future__ import annotations

from enum import IntEnum, unique
from typing import Any

import cbor2
from pydantic import BaseModel, ConfigDict, Field
from smp import error as smperror
from smp import header as smphdr
from smp import message as smpmsg
from smp import os_management as smpos
from smp.exceptions import SMPMismatchedGroupId

THERALOOP_GROUP_ID = 64
"""SMP group of the theraloop commands (first user-defined group id)."""


@unique
class TheraloopCommand(IntEnum):
    """Command ids within the theraloop group."""

    INFO = 0
    FAULT_TEST = 1


@unique
class TheraloopErr(IntEnum):
    """Group-specific `rc` values of theraloop v2 `err` responses (docs/protocol.md)."""

    OK = 0
    UNKNOWN = 1
    INVALID = 2
    NOT_SUPPORTED = 3
    BUSY = 4


@unique
class FaultTestKind(IntEnum):
    """What `fault_test` makes the device do (platform.h `tl_fault_trigger_t`)."""

    BUS_READ = 1
    """Load from an unmapped address (BusFault)."""
    UNDEF_INSN = 2
    """Execute an undefined instruction (UsageFault)."""
    DIV_ZERO = 3
    """Integer divide by zero (UsageFault)."""


class _Record(BaseModel):
    """A nested record in a response: unknown extra fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow", frozen=True)


class FaultRecord(_Record):
    """The fault record the previous run's fault handler left for this boot."""

    kind: str | int
    pc: int
    lr: int
    xpsr: int
    sp: int
    cfsr: int
    hfsr: int
    mmfar: int
    bfar: int
    uptime_ms: int


# --- generic error responses ------------------------------------------------------
# smp's ErrorV1 types `rc` as the general MGMT_ERR enum and ErrorV2 as one group's enum,
# so a code outside those enums fails validation. These accept any integer and leave the
# naming to `error_name`.


class AnyErr(BaseModel):
    """The `err` map of an SMP v2 error response."""

    model_config = ConfigDict(extra="allow", frozen=True)

    group: int
    rc: int


class _ErrorV1Base(smpmsg.Response):
    RESPONSE_TYPE = smpmsg.ResponseType.ERROR_V1

    rc: int
    rsn: str | None = None


class _ErrorV2Base(smpmsg.Response):
    RESPONSE_TYPE = smpmsg.ResponseType.ERROR_V2

    err: AnyErr


class TheraloopErrorV1(_ErrorV1Base):
    """An SMP v1 (`rc`) error from the theraloop group."""

    _GROUP_ID = THERALOOP_GROUP_ID


class TheraloopErrorV2(_ErrorV2Base):
    """An SMP v2 (`err`) error from the theraloop group."""

    _GROUP_ID = THERALOOP_GROUP_ID


class _TheraloopGroup:
    _ErrorV1 = TheraloopErrorV1
    _ErrorV2 = TheraloopErrorV2


# --- info --------------------------------------------------------------------------


class InfoReadRequest(smpmsg.ReadRequest):
    """Read the device identity, uptime, reset reason and last fault."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.INFO


class InfoReadResponse(smpmsg.ReadResponse):
    """Answer to `InfoReadRequest`. Fields a newer firmware adds are kept as extras.

    The wire field `version` (the firmware version) is `firmware_version` here, because
    smp's message base class already uses `version` for the SMP protocol version.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.INFO

    firmware_version: str
    source_revision: str
    build_id: str
    board: str
    uptime_ms: int
    reset_reason: str
    fault: FaultRecord | None = None
    smp_stats: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def loads(cls, data: bytes) -> InfoReadResponse:
        """Parse a response frame, renaming the wire field `version`."""
        header = smphdr.Header.loads(data[: smphdr.Header.SIZE])
        payload = cbor2.loads(data[smphdr.Header.SIZE :])
        fields: dict[str, Any] = {}
        if isinstance(payload, dict):
            fields = {str(key): value for key, value in payload.items()}
        if "version" in fields:
            fields["firmware_version"] = fields.pop("version")
        for reserved in ("header", "sequence", "smp_data"):
            fields.pop(reserved, None)
        message = cls(header=header, smp_data=data, **fields)
        if message.header.group_id != cls._GROUP_ID:
            raise SMPMismatchedGroupId(
                f"{cls.__name__} has {cls._GROUP_ID}, header has {message.header.group_id}"
            )
        return message

    def to_dict(self) -> dict[str, Any]:
        """The response as the device sent it (wire names, JSON-compatible values)."""
        data = self.model_dump(mode="json", exclude={"header", "version", "sequence", "smp_data"})
        data["version"] = data.pop("firmware_version")
        order = ["version", "source_revision", "build_id", "board", "uptime_ms"]
        order += ["reset_reason", "fault", "smp_stats"]
        ordered = {key: data.pop(key) for key in order if key in data}
        ordered.update(data)
        return ordered


class InfoRead(InfoReadRequest, _TheraloopGroup):
    _Response = InfoReadResponse


# --- fault_test ----------------------------------------------------------------------


class FaultTestWriteRequest(smpmsg.WriteRequest):
    """Make the device fault on purpose (it reboots with reset reason "fault")."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.FAULT_TEST

    kind: int


class FaultTestWriteResponse(smpmsg.WriteResponse):
    """Sent (when the device manages to) before it faults."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.FAULT_TEST


class FaultTestWrite(FaultTestWriteRequest, _TheraloopGroup):
    _Response = FaultTestWriteResponse


# --- naming error codes ----------------------------------------------------------------

_GROUP_ERR_ENUMS: dict[int, type[IntEnum]] = {
    int(smphdr.GroupId.OS_MANAGEMENT): smpos.OS_MGMT_RET_RC,
    THERALOOP_GROUP_ID: TheraloopErr,
}


def error_name(group: int, rc: int, *, version: int) -> str:
    """A readable name for an SMP error code.

    v1 `rc` codes are the general MGMT_ERR codes for every group; v2 `err` codes are
    group-specific (OS group: OS_MGMT_RET_RC, theraloop group: `TheraloopErr`); a v2 code
    from a group without known codes is named as a general MGMT_ERR code.
    """
    enum: type[IntEnum] = smperror.MGMT_ERR
    if version == 2:
        enum = _GROUP_ERR_ENUMS.get(group, smperror.MGMT_ERR)
    try:
        return enum(rc).name
    except ValueError:
        return f"rc {rc}"


def request_class(
    group: int, command: int, *, write: bool
) -> type[smpmsg.ReadRequest] | type[smpmsg.WriteRequest]:
    """A request type for any group/command whose payload is a free-form CBOR map.

    Used by `theraloop smp` and by tests that probe unknown groups and commands.
    """
    key = (write, group, command)
    if key not in _REQUEST_CLASSES:
        base: type[Any] = smpmsg.WriteRequest if write else smpmsg.ReadRequest
        attrs: dict[str, Any] = {
            "model_config": ConfigDict(extra="allow", frozen=True),
            "_GROUP_ID": group,
            "_COMMAND_ID": command,
        }
        name = f"{'Write' if write else 'Read'}Request_{group}_{command}"
        _REQUEST_CLASSES[key] = type(name, (base,), attrs)
    return _REQUEST_CLASSES[key]


_REQUEST_CLASSES: dict[tuple[bool, int, int], type[Any]] = {}
