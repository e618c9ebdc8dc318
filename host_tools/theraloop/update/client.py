"""The update commands on the wire: SMP image group (1) and model group (66).

Image group (Zephyr img_mgmt semantics): image 0 is the firmware (slot 0 primary,
running; slot 1 secondary, the upload target), image 1 the model (slot 0 model_a, slot 1
model_b); its v2 errors carry img_mgmt codes. Model group 66 (firmware: mgmt_model.h):
list (0, read), activate (1), confirm (2), rollback (3); each answers the list map; its
v2 errors have codes of their own (`ModelErr`).

Requests go through `Device.raw` (free-form CBOR maps), so fields a newer firmware adds
are kept rather than rejected.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import IntEnum, unique
from typing import Any, Final

from smp.image_management import IMG_MGMT_ERR

from theraloop.device import Device
from theraloop.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    ExitCode,
    TheraloopError,
    UsageError,
)
from theraloop.mgmt import request_class

logger = logging.getLogger(__name__)

IMG_GROUP: Final = 1
MODEL_GROUP: Final = 66
FIRMWARE_IMAGE: Final = 0
MODEL_IMAGE: Final = 1
FIRST_CHUNK_TIMEOUT_S: Final = 30.0
"""The first upload request erases the slot (128 KiB sectors: 1-2 s each on STM32F405)."""
_FALLBACK_MESSAGE_BYTES: Final = 124
_MAX_STALLS: Final = 4


@unique
class ImgCommand(IntEnum):
    STATE = 0
    UPLOAD = 1
    ERASE = 5


@unique
class ModelCommand(IntEnum):
    LIST = 0
    ACTIVATE = 1
    CONFIRM = 2
    ROLLBACK = 3


class UpdateError(TheraloopError):
    """The device refused or failed an update step (exit 1, like an SMP error)."""

    exit_code = ExitCode.DEVICE_ERROR


@unique
class ModelErr(IntEnum):
    """v2 `err.rc` codes of the model group (firmware: mgmt_model.h tl_mgmt_model_err_t)."""

    OK = 0
    NOT_READY = 1
    ARG = 2
    INVALID = 3
    BUSY = 4
    DENIED = 5
    NO_TEST = 6
    NO_PREVIOUS = 7
    NO_FACTORY = 8
    LOOP = 9
    PERSIST = 10


def group_error_name(group: int, rc: int) -> str:
    """img_mgmt names for the image group, the model group's own names for group 66."""
    enum: type[IntEnum] = ModelErr if group == MODEL_GROUP else IMG_MGMT_ERR
    try:
        return enum(rc).name
    except ValueError:
        return f"rc {rc}"


@contextlib.contextmanager
def img_errors() -> Iterator[None]:
    """Name the v2 errors of the image group (img_mgmt codes) and the model group."""
    try:
        yield
    except DeviceError as exc:
        if exc.version == 2 and exc.group in (IMG_GROUP, MODEL_GROUP):
            raise DeviceError(
                exc.group, exc.rc, group_error_name(exc.group, exc.rc), version=2, reason=exc.reason
            ) from exc
        raise


def _call(
    dev: Device,
    group: int,
    command: int,
    payload: Mapping[str, Any] | None = None,
    *,
    write: bool,
    timeout: float | None = None,
) -> dict[Any, Any]:
    saved = dev.timeout
    if timeout is not None:
        dev.timeout = timeout
    try:
        with img_errors():
            return dev.raw(group, command, dict(payload or {}), write=write)
    finally:
        dev.timeout = saved


# --- image group -----------------------------------------------------------------------


@dataclass(frozen=True)
class ImageSlotState:
    """One entry of the image group's state list."""

    image: int
    slot: int
    version: str
    hash: bytes | None
    bootable: bool
    pending: bool
    confirmed: bool
    active: bool
    permanent: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "slot": self.slot,
            "version": self.version,
            "hash": self.hash.hex() if self.hash is not None else None,
            "bootable": self.bootable,
            "pending": self.pending,
            "confirmed": self.confirmed,
            "active": self.active,
            "permanent": self.permanent,
        }


def _parse_states(answer: Mapping[Any, Any]) -> list[ImageSlotState]:
    images = answer.get("images")
    if not isinstance(images, list):
        raise DeviceProtocolError(f"image state answer has no 'images' list: {answer!r}")
    out: list[ImageSlotState] = []
    for entry in images:
        if not isinstance(entry, dict) or not isinstance(entry.get("slot"), int):
            raise DeviceProtocolError(f"invalid image state entry: {entry!r}")
        digest = entry.get("hash")
        if digest is not None and not (isinstance(digest, bytes) and len(digest) == 32):
            raise DeviceProtocolError(f"invalid image hash in state entry: {entry!r}")
        image = entry.get("image", 0)
        out.append(
            ImageSlotState(
                image=image if isinstance(image, int) else 0,
                slot=entry["slot"],
                version=str(entry.get("version", "")),
                hash=digest,
                bootable=bool(entry.get("bootable", False)),
                pending=bool(entry.get("pending", False)),
                confirmed=bool(entry.get("confirmed", False)),
                active=bool(entry.get("active", False)),
                permanent=bool(entry.get("permanent", False)),
            )
        )
    return out


def image_states(dev: Device) -> list[ImageSlotState]:
    return _parse_states(_call(dev, IMG_GROUP, ImgCommand.STATE, write=False))


def set_image_state(dev: Device, digest: bytes | None, *, confirm: bool) -> list[ImageSlotState]:
    """Image state write: `digest` to test (confirm False) or keep; None: the running one."""
    payload: dict[str, Any] = {"confirm": confirm}
    if digest is not None:
        payload["hash"] = digest
    return _parse_states(
        _call(dev, IMG_GROUP, ImgCommand.STATE, payload, write=True, timeout=FIRST_CHUNK_TIMEOUT_S)
    )


@dataclass(frozen=True)
class UploadResult:
    image: int
    size: int
    sha256: bytes
    resumed_from: int
    """0, or where the device resumed an interrupted upload of the same file."""
    seconds: float
    requests: int
    retries: int
    match: bool | None

    @property
    def sent(self) -> int:
        return self.size - self.resumed_from

    @property
    def rate(self) -> float:
        """Payload bytes per second of this transfer."""
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "image": self.image,
            "bytes": self.size,
            "sha256": self.sha256.hex(),
            "resumed_from": self.resumed_from,
            "seconds": round(self.seconds, 3),
            "rate_bps": round(self.rate, 1),
            "requests": self.requests,
            "retries": self.retries,
            "match": self.match,
        }


def message_budget(dev: Device) -> int:
    """Largest SMP message the device takes (its buf_size minus length and CRC16)."""
    if dev.params is not None:
        return int(dev.params.buf_size) - 4
    return _FALLBACK_MESSAGE_BYTES


def upload_request(
    data: bytes, off: int, budget: int, first: Mapping[str, Any]
) -> tuple[dict[str, Any], int]:
    """The fields of an upload request at `off` carrying as much data as fits `budget`.

    `first`: the fields only the `off` 0 request carries (image, len, sha). Returns the
    payload and the number of data bytes in it.
    """
    cls = request_class(IMG_GROUP, ImgCommand.UPLOAD, write=True)
    fields: dict[str, Any] = {"off": off, **(first if off == 0 else {})}
    overhead = len(cls(**fields, data=b"").BYTES)
    n = max(0, min(len(data) - off, budget - overhead))
    while n > 0 and len(cls(**fields, data=data[off : off + n]).BYTES) > budget:
        n -= 1
    if n == 0 and off < len(data):
        raise DeviceProtocolError(f"the device's {budget}-byte SMP buffer cannot carry any data")
    fields["data"] = data[off : off + n]
    return fields, n


def upload(
    dev: Device,
    data: bytes,
    *,
    image: int,
    progress: Callable[[int], None] | None = None,
    first_timeout: float = FIRST_CHUNK_TIMEOUT_S,
    retries: int = 3,
) -> UploadResult:
    """Upload `data` as `image` (0 firmware, 1 model), following the device's offsets.

    The first request carries the length and the file's SHA-256: a device that holds an
    interrupted upload of the same file answers with where it stopped, and the upload
    resumes there. A request without answer is sent again (at most `retries` times in a
    row); the device's answer says which offset it expects next. `progress(off)` is
    called after every answer.
    """
    digest = hashlib.sha256(data).digest()
    first = {"image": image, "len": len(data), "sha": digest}
    budget = message_budget(dev)
    off = 0
    requests = retry_count = stalls = 0
    in_a_row = 0
    resumed_from: int | None = None
    match: bool | None = None
    start = time.monotonic()
    while True:
        fields, n = upload_request(data, off, budget, first)
        wait = first_timeout if off == 0 or requests == 0 else None
        try:
            answer = _call(dev, IMG_GROUP, ImgCommand.UPLOAD, fields, write=True, timeout=wait)
        except DeviceTimeout:
            if in_a_row >= retries:
                raise
            in_a_row += 1
            retry_count += 1
            logger.info("upload: no answer at offset %d, sending again", off)
            continue
        in_a_row = 0
        requests += 1
        new_off = answer.get("off")
        if not isinstance(new_off, int) or isinstance(new_off, bool):
            raise DeviceProtocolError(f"upload answer without an offset: {answer!r}")
        if not 0 <= new_off <= len(data):
            raise DeviceProtocolError(
                f"device asks for offset {new_off} of a {len(data)}-byte image"
            )
        if resumed_from is None:
            resumed_from = new_off if off == 0 and new_off != n else 0
            if resumed_from:
                start = time.monotonic()
        stalls = stalls + 1 if new_off <= off and n > 0 else 0
        if stalls >= _MAX_STALLS:
            raise DeviceProtocolError(f"upload makes no progress at offset {off}")
        if isinstance(answer.get("match"), bool):
            match = answer["match"]
        off = new_off
        if progress is not None:
            progress(off)
        if off == len(data):
            break
    seconds = time.monotonic() - start
    if match is False:
        raise UpdateError("the device reports that the uploaded image does not match its SHA-256")
    return UploadResult(
        image=image,
        size=len(data),
        sha256=digest,
        resumed_from=resumed_from or 0,
        seconds=seconds,
        requests=requests,
        retries=retry_count,
        match=match,
    )


# --- model group (66) ----------------------------------------------------------------------

SLOT_NAMES: Final = ("a", "b")


def parse_slot(text: str) -> int:
    """`a`, `b`, `0`, `1` (also `model_a`, `model_b`) -> 0 or 1."""
    key = text.strip().lower().removeprefix("model_")
    if key in ("a", "0"):
        return 0
    if key in ("b", "1"):
        return 1
    raise UsageError(f"invalid slot {text!r}: expected a, b, 0 or 1")


def _model_answer(answer: Mapping[Any, Any]) -> dict[str, Any]:
    if not isinstance(answer.get("slots"), list) or not isinstance(answer.get("active"), dict):
        raise DeviceProtocolError(f"model group answer without 'active' and 'slots': {answer!r}")
    for entry in answer["slots"]:
        if not isinstance(entry, dict) or entry.get("slot") not in (0, 1):
            raise DeviceProtocolError(f"invalid model slot entry: {entry!r}")
    return {str(k): v for k, v in answer.items()}


def model_list(dev: Device) -> dict[str, Any]:
    return _model_answer(_call(dev, MODEL_GROUP, ModelCommand.LIST, write=False))


def model_activate(
    dev: Device, slot: int, *, confirm: bool = False, confirm_after: int | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {"slot": slot, "confirm": confirm}
    if confirm_after is not None:
        payload["confirm_after"] = confirm_after
    return _model_answer(
        _call(
            dev,
            MODEL_GROUP,
            ModelCommand.ACTIVATE,
            payload,
            write=True,
            timeout=max(dev.timeout, 10.0),
        )
    )


def model_confirm(dev: Device) -> dict[str, Any]:
    return _model_answer(_call(dev, MODEL_GROUP, ModelCommand.CONFIRM, {}, write=True))


def model_rollback(dev: Device, *, factory: bool = False) -> dict[str, Any]:
    payload = {"to": "factory" if factory else "previous"}
    return _model_answer(
        _call(
            dev,
            MODEL_GROUP,
            ModelCommand.ROLLBACK,
            payload,
            write=True,
            timeout=max(dev.timeout, 10.0),
        )
    )


def slot_entry(listing: Mapping[str, Any], slot: int) -> dict[str, Any] | None:
    for entry in listing["slots"]:
        if entry.get("slot") == slot:
            return dict(entry)
    return None


def slot_with_hash(listing: Mapping[str, Any], digest: bytes) -> dict[str, Any] | None:
    for entry in listing["slots"]:
        if entry.get("hash") == digest:
            return dict(entry)
    return None
