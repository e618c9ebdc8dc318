"""SMP message models of the theraloop groups (64: device, 65: nn), and error helpers.

Defined like smp's own groups (pydantic models with `_GROUP_ID`, `_COMMAND_ID` and, via
`ReadRequest`/`WriteRequest`, `_OP`), and paired with their response and error types like
smpclient's requests, so `SMPClient.request()` handles them as any built-in group.
See docs/protocol.md for the wire contract.
"""

from __future__ import annotations

from enum import IntEnum, unique
from typing import Any

import cbor2
from pydantic import BaseModel, ConfigDict, Field, model_validator
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
    STATUS = 2
    CONFIG = 3
    THERAPY = 4
    STREAM = 5
    LOG = 6


@unique
class TheraloopErr(IntEnum):
    """Group-specific `rc` values of theraloop v2 `err` responses (docs/protocol.md)."""

    OK = 0
    UNKNOWN = 1
    INVALID = 2
    NOT_SUPPORTED = 3
    BUSY = 4
    UNKNOWN_KEY = 5
    """config: no field of that name"""
    BAD_VALUE = 6
    """config: a repeated name, text for a number, or an unknown choice name"""
    STATE = 7
    """therapy: the command is not allowed in this state"""
    LOCKOUT = 8
    """therapy: no valid therapy configuration"""
    # 16 + tl_therapy_cfg_err_t: the therapy configuration refused
    THERAPY_ARG = 17
    THERAPY_UNKNOWN_FIELD = 18
    THERAPY_RANGE = 19
    THERAPY_ORDER = 20
    THERAPY_CHARGE = 21
    THERAPY_CHARGE_DENSITY = 22
    THERAPY_SHANNON = 23
    THERAPY_OUTSIDE_LIMITS = 24
    THERAPY_RAMP = 25
    THERAPY_BURST_SLEW = 26
    THERAPY_TIMING = 27
    THERAPY_THRESHOLDS = 28
    THERAPY_CHOICE = 29
    # 48 + tl_loop_cfg_err_t: the loop configuration refused
    LOOP_ARG = 49
    LOOP_UNKNOWN_FIELD = 50
    LOOP_RANGE = 51
    LOOP_FEATURES = 52
    LOOP_RAW = 53
    LOOP_MODEL = 54
    LOOP_CLASSES = 55
    LOOP_CHOICE = 56


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
    rsn: str | None = None
    """Why (theraloop group refusals carry it, as Zephyr's verbose error responses)."""


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


def _hex_bytes(value: Any) -> Any:
    """`value` with every byte string (at any depth) as lowercase hex, for JSON."""
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {key: _hex_bytes(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_hex_bytes(item) for item in value]
    return value


class InfoReadRequest(smpmsg.ReadRequest):
    """Read the device identity, uptime, reset reason and last fault."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.INFO


class InfoReadResponse(smpmsg.ReadResponse):
    """Answer to `InfoReadRequest`. Fields a newer firmware adds are kept as extras.

    The wire field `version` (the firmware version) is `firmware_version` here, because
    smp's message base class already uses `version` for the SMP protocol version.
    """

    # ser_json_bytes: byte strings (the running image's `hash`) as hex in `to_dict`
    model_config = ConfigDict(extra="allow", frozen=True, ser_json_bytes="hex")

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
        data = _hex_bytes(
            self.model_dump(mode="python", exclude={"header", "version", "sequence", "smp_data"})
        )
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


# --- nn group (65): models on the device's inference engine -------------------------------

NN_GROUP_ID = 65
"""SMP group of the inference-engine commands (firmware/core/include/theraloop/mgmt_nn.h)."""


@unique
class NnCommand(IntEnum):
    """Command ids within the nn group."""

    STATE = 0
    UPLOAD = 1
    LOAD = 2
    INVOKE = 3
    BENCH = 4


ENGINE_STATUS_NAMES: tuple[str, ...] = (
    "OK",
    "ARG",
    "TRUNCATED",
    "BAD_IDENTIFIER",
    "MALFORMED",
    "BAD_VERSION",
    "UNSUPPORTED_MODEL",
    "UNSUPPORTED_OP",
    "UNSUPPORTED_TYPE",
    "UNSUPPORTED_PARAM",
    "BAD_SHAPE",
    "TENSOR_TOO_LARGE",
    "LIMIT",
    "BAD_BUFFER",
    "BAD_QUANTIZATION",
    "BAD_GRAPH",
    "ARENA_TOO_SMALL",
    "ARENA_ALIGN",
    "CONTRACT_MISMATCH",
    "NOT_LOADED",
)
"""Names of the engine's `tl_nn_status_t` codes, by number (stable: they cross SMP)."""

NN_ERR_ENGINE = 32
"""nn group rc = NN_ERR_ENGINE + engine status: the engine refused or failed."""


@unique
class NnErr(IntEnum):
    """Group-specific `rc` values of nn v2 `err` responses (docs/protocol.md)."""

    OK = 0
    UNKNOWN = 1
    INVALID = 2
    TOO_LARGE = 3
    NO_UPLOAD = 4
    NOT_LOADED = 5
    HASH_MISMATCH = 6
    IO_MISMATCH = 7
    IO_LIMIT = 8
    NO_TIMER = 9
    BUSY = 10
    ENGINE_ARG = 33
    ENGINE_TRUNCATED = 34
    ENGINE_BAD_IDENTIFIER = 35
    ENGINE_MALFORMED = 36
    ENGINE_BAD_VERSION = 37
    ENGINE_UNSUPPORTED_MODEL = 38
    ENGINE_UNSUPPORTED_OP = 39
    ENGINE_UNSUPPORTED_TYPE = 40
    ENGINE_UNSUPPORTED_PARAM = 41
    ENGINE_BAD_SHAPE = 42
    ENGINE_TENSOR_TOO_LARGE = 43
    ENGINE_LIMIT = 44
    ENGINE_BAD_BUFFER = 45
    ENGINE_BAD_QUANTIZATION = 46
    ENGINE_BAD_GRAPH = 47
    ENGINE_ARENA_TOO_SMALL = 48
    ENGINE_ARENA_ALIGN = 49
    ENGINE_CONTRACT_MISMATCH = 50
    ENGINE_NOT_LOADED = 51


class NnIo(_Record):
    """One model input or output as the device's engine sees it."""

    model_config = ConfigDict(extra="allow", frozen=True, validate_by_name=True)

    name: str
    type: str
    shape: list[int]
    scale: float
    zero_point: int
    nbytes: int = Field(alias="bytes")


class NnModelFields(BaseModel):
    """The loaded model's description (`load`'s answer, `state`'s "model")."""

    nbytes: int = Field(alias="bytes")
    sha256: bytes
    slot: int
    arena_bytes: int
    arena_limit: int
    macs: int
    ops: int
    n_inputs: int
    n_outputs: int
    inputs: list[NnIo]
    outputs: list[NnIo]


class NnModelInfo(NnModelFields):
    model_config = ConfigDict(extra="allow", frozen=True, validate_by_name=True)


class NnUploadState(_Record):
    """An upload in progress (or complete and not loaded yet)."""

    slot: int
    len: int
    off: int
    done: bool
    sha256: bytes | None = None


class NnLastError(_Record):
    """What the engine said the last time it refused a model or failed to run it."""

    rc: int
    status: int
    name: str
    message: str
    op: int
    opcode: int | None = None
    op_name: str | None = None
    arena_required: int | None = None


class NnErrorV1(_ErrorV1Base):
    """An SMP v1 (`rc`) error from the nn group."""

    _GROUP_ID = NN_GROUP_ID


class NnErrorV2(_ErrorV2Base):
    """An SMP v2 (`err`) error from the nn group."""

    _GROUP_ID = NN_GROUP_ID


class _NnGroup:
    _ErrorV1 = NnErrorV1
    _ErrorV2 = NnErrorV2


class NnStateReadRequest(smpmsg.ReadRequest):
    """Read capacities, the kernel path, the loaded model, the upload and the last error."""

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.STATE


class NnStateReadResponse(smpmsg.ReadResponse):
    model_config = ConfigDict(extra="allow", frozen=True)

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.STATE

    slot_bytes: int
    arena_bytes: int
    io_max: int
    dsp: bool
    model: NnModelInfo | None = None
    upload: NnUploadState | None = None
    last_error: NnLastError | None = None


class NnStateRead(NnStateReadRequest, _NnGroup):
    _Response = NnStateReadResponse


class NnUploadWriteRequest(smpmsg.WriteRequest):
    """One chunk of a model upload; the first (`off` 0) also carries `len` and `sha`."""

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.UPLOAD

    off: int
    data: bytes
    len: int | None = None
    sha: bytes | None = None


class NnUploadWriteResponse(smpmsg.WriteResponse):
    """The next offset the device expects; with the file's SHA-256 once complete."""

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.UPLOAD

    off: int
    sha256: bytes | None = None


class NnUploadWrite(NnUploadWriteRequest, _NnGroup):
    _Response = NnUploadWriteResponse


class NnLoadWriteRequest(smpmsg.WriteRequest):
    """Load the completed upload (`arena`: use only that many arena bytes)."""

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.LOAD

    arena: int | None = None


class NnLoadWriteResponse(smpmsg.WriteResponse, NnModelFields):
    model_config = ConfigDict(extra="allow", frozen=True, validate_by_name=True)

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.LOAD


class NnLoadWrite(NnLoadWriteRequest, _NnGroup):
    _Response = NnLoadWriteResponse


class NnInvokeWriteRequest(smpmsg.WriteRequest):
    """Run one inference: one byte string per model input (little-endian elements)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.INVOKE

    inputs: list[bytes] = Field(alias="in")


class NnInvokeWriteResponse(smpmsg.WriteResponse):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_by_name=True)

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.INVOKE

    outputs: list[bytes] = Field(alias="out")


class NnInvokeWrite(NnInvokeWriteRequest, _NnGroup):
    _Response = NnInvokeWriteResponse


class NnBenchWriteRequest(smpmsg.WriteRequest):
    """Time `n` runs of the loaded model (or, with `loop`, of the calibration loop)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.BENCH

    n: int
    loop: int | None = None
    inputs: list[bytes] | None = Field(default=None, alias="in")


class NnBenchWriteResponse(smpmsg.WriteResponse):
    """Timer ticks of the runs (sum, shortest, longest) and how they were taken."""

    model_config = ConfigDict(extra="allow", frozen=True)

    _GROUP_ID = NN_GROUP_ID
    _COMMAND_ID = NnCommand.BENCH

    target: str
    n: int
    ticks: int
    min: int
    max: int
    tick_hz: int
    timer: str
    masked: bool
    dsp: bool
    loop: int | None = None
    loop_insns: int | None = None
    macs: int | None = None
    sha256: bytes | None = None


class NnBenchWrite(NnBenchWriteRequest, _NnGroup):
    _Response = NnBenchWriteResponse


# --- the control loop: status, config, therapy, stream, log (docs/protocol.md) -----------


class _FreeResponse(smpmsg.Response):
    """A response map whose keys are documented, not enumerated here (kept as extras).

    An error-shaped map ({"err": ...} or a non-zero "rc") is not a success: validation
    fails, so smpclient goes on to parse it as the group's error response.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _not_an_error(cls, data: Any) -> Any:
        if isinstance(data, dict) and ("err" in data or data.get("rc", 0) != 0):
            raise ValueError("an error response")
        return data

    def body(self) -> dict[str, Any]:
        """The answer map as the device sent it."""
        return dict(self.model_extra or {})


class StatusReadRequest(smpmsg.ReadRequest):
    """Therapy state and output, model, stage timing, link counters."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.STATUS


class StatusReadResponse(smpmsg.ReadResponse, _FreeResponse):
    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.STATUS


class StatusRead(StatusReadRequest, _TheraloopGroup):
    _Response = StatusReadResponse


class ConfigReadRequest(smpmsg.ReadRequest):
    """Configuration fields: all from `off`, or the named `keys`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.CONFIG

    keys: list[str] | None = None
    off: int | None = None


class ConfigReadResponse(smpmsg.ReadResponse):
    model_config = ConfigDict(extra="allow", frozen=True)

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.CONFIG

    fields: dict[str, int | str]
    next: int | None = None
    total: int | None = None


class ConfigRead(ConfigReadRequest, _TheraloopGroup):
    _Response = ConfigReadResponse


class ConfigWriteRequest(smpmsg.WriteRequest):
    """Set fields atomically (a refusal changes nothing and says why)."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.CONFIG

    set: dict[str, int | str]


class ConfigWriteResponse(smpmsg.WriteResponse, _FreeResponse):
    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.CONFIG


class ConfigWrite(ConfigWriteRequest, _TheraloopGroup):
    _Response = ConfigWriteResponse


class TherapyWriteRequest(smpmsg.WriteRequest):
    """start / stop / pause / resume."""

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.THERAPY

    cmd: str


class TherapyWriteResponse(smpmsg.WriteResponse, _FreeResponse):
    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.THERAPY


class TherapyWrite(TherapyWriteRequest, _TheraloopGroup):
    _Response = TherapyWriteResponse


class _RecordsResponse(smpmsg.ReadResponse):
    model_config = ConfigDict(extra="allow", frozen=True)

    next: int
    lost: int
    future: bool
    size: int
    count: int
    records: bytes


class StreamReadRequest(smpmsg.ReadRequest):
    """Telemetry records with sequence >= since (default: the oldest held)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.STREAM

    since: int | None = None
    max: int | None = None


class StreamReadResponse(_RecordsResponse):
    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.STREAM


class StreamRead(StreamReadRequest, _TheraloopGroup):
    _Response = StreamReadResponse


class LogReadRequest(smpmsg.ReadRequest):
    """Events with sequence >= since (default: the oldest held)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.LOG

    since: int | None = None
    max: int | None = None


class LogReadResponse(_RecordsResponse):
    _GROUP_ID = THERALOOP_GROUP_ID
    _COMMAND_ID = TheraloopCommand.LOG


class LogRead(LogReadRequest, _TheraloopGroup):
    _Response = LogReadResponse


# --- naming error codes ----------------------------------------------------------------

_GROUP_ERR_ENUMS: dict[int, type[IntEnum]] = {
    int(smphdr.GroupId.OS_MANAGEMENT): smpos.OS_MGMT_RET_RC,
    THERALOOP_GROUP_ID: TheraloopErr,
    NN_GROUP_ID: NnErr,
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
