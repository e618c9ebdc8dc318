"""A synchronous client for one theraloop device, over smpclient.

    with Device("socket://127.0.0.1:4321", timeout=2.0) as dev:
        print(dev.info().board)
        dev.echo("hello")

`Device` runs smpclient's async `SMPClient` on an event loop of its own, one call at a
time, and turns every way a request can fail into one exception class:

- the device answered with an SMP error  -> `DeviceError` (group, rc, readable name)
- the port cannot be opened / was lost  -> `DeviceUnavailable`
- no answer in time                      -> `DeviceTimeout`
- an answer that is not a valid response -> `DeviceProtocolError`
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, Final, TypeVar

import cbor2
from pydantic import ValidationError
from smp import header as smphdr
from smp.exceptions import SMPException
from smp.os_management import MCUMgrParametersReadResponse
from smpclient import SMPClient
from smpclient.exceptions import SMPClientException
from smpclient.generics import SMPRequest, TEr1, TEr2, TRep, error, error_v1, success
from smpclient.requests.os_management import EchoWrite, MCUMgrParametersRead, ResetWrite
from smpclient.transport import SMPTransportDisconnected

from theraloop.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceTimeout,
    DeviceUnavailable,
    TheraloopError,
    UsageError,
)
from theraloop.mgmt import (
    FaultTestKind,
    FaultTestWrite,
    InfoRead,
    InfoReadResponse,
    error_name,
    request_class,
)
from theraloop.transport import SerialPortTransport

logger = logging.getLogger(__name__)

# smpclient logs every timeout at ERROR level; expected ones (polling a rebooting device)
# would reach stderr through logging's last-resort handler in programs that configure no
# logging. A NullHandler stops only that fallback: configured handlers still get records.
logging.getLogger("smpclient").addHandler(logging.NullHandler())

DEFAULT_TIMEOUT_S: Final = 3.0
"""Default time to wait for each answer."""

_T = TypeVar("_T")

_PROTOCOL_ERRORS: Final = (
    SMPClientException,
    SMPException,
    ValidationError,
    cbor2.CBORError,
    ValueError,
    AssertionError,
    struct.error,
)
"""What smp/smpclient raise when a received frame is not a valid answer."""


class Device:
    """One connection to a device's SMP management port.

    `port` is a serial device or pty path (`/dev/ttyACM0`, `/dev/pts/4`) or a pyserial
    URL (`socket://127.0.0.1:4321`). `timeout` bounds each request, `connect_timeout`
    how long to keep retrying to open the port (0: one attempt).
    """

    def __init__(
        self,
        port: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_S,
        connect_timeout: float = 0.0,
    ) -> None:
        if timeout <= 0:
            raise UsageError(f"timeout must be positive, got {timeout}")
        self.port: Final = port
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.params: MCUMgrParametersReadResponse | None = None
        self._runner: asyncio.Runner | None = None
        self._transport: SerialPortTransport | None = None
        self._client: SMPClient | None = None
        self._stale_input = False

    # --- connection --------------------------------------------------------------

    def __enter__(self) -> Device:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._transport is not None and self._transport.is_connected

    def open(self) -> None:
        """Open the port and read the device's MCUmgr buffer parameters.

        Raises `DeviceUnavailable` if the port cannot be opened and `DeviceTimeout` if
        the device does not answer.
        """
        self.connect()
        try:
            self._read_params()
        except BaseException:
            self.disconnect()
            raise

    def connect(self) -> None:
        """Open the port only (no request is made)."""
        if self._runner is None:
            self._runner = asyncio.Runner()
        if self.is_open:
            return
        self._transport = SerialPortTransport()
        if self.params is not None:  # reconnecting: the device's buffer is known
            self._transport.initialize(self.params.buf_size)
        self._client = SMPClient(self._transport, self.port, timeout_s=self.timeout)
        self._stale_input = False
        try:
            self._run(self._transport.connect(self.port, self.connect_timeout))
        except BaseException:
            self._transport = None
            self._client = None
            raise
        logger.debug("connected to %s", self.port)

    def disconnect(self) -> None:
        """Close the port; the event loop stays for a later `connect`."""
        if self._transport is not None and self._runner is not None:
            try:
                self._runner.run(self._transport.disconnect())
            except Exception as exc:  # closing a dead port must not hide the real error
                logger.debug("disconnect from %s: %s", self.port, exc)
        self._transport = None
        self._client = None

    def close(self) -> None:
        """Close the port and the event loop."""
        self.disconnect()
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def _read_params(self) -> None:
        try:
            self.params = self.request(MCUMgrParametersRead())
        except DeviceError as exc:  # params are optional in SMP: keep the defaults
            logger.info("device does not report MCUmgr parameters: %s", exc)
            return
        assert self._transport is not None
        self._transport.initialize(self.params.buf_size)

    # --- requests ----------------------------------------------------------------

    def request(self, req: SMPRequest[TRep, TEr1, TEr2], *, timeout: float | None = None) -> TRep:
        """Send one request; return its success response or raise (see module doc)."""
        transport, client = self._require_open()
        self._check_size(len(req.BYTES))
        if self._stale_input:
            transport.flush_input()
            self._stale_input = False
        wait = self.timeout if timeout is None else timeout
        response = self._run(client.request(req, timeout_s=wait), timeout=wait, enforce=False)
        if success(response):
            return response
        if error(response):
            group = int(req.header.group_id)
            if error_v1(response):
                rc = int(response.rc)
                if rc == 0:
                    raise DeviceProtocolError(
                        f"device answered rc 0 in place of a response to group {group} "
                        f"command {int(req.header.command_id)}"
                    )
                raise DeviceError(
                    group,
                    rc,
                    error_name(group, rc, version=1),
                    version=1,
                    reason=response.rsn,
                )
            err = response.err
            rsn = getattr(response, "rsn", None)
            raise DeviceError(
                int(err.group),
                int(err.rc),
                error_name(int(err.group), int(err.rc), version=2),
                version=2,
                reason=rsn if isinstance(rsn, str) else None,
            )
        raise DeviceProtocolError(f"unexpected response type {type(response).__name__}")

    def echo(self, text: str) -> str:
        """Ask the device to echo `text` back (OS group, echo)."""
        return self.request(EchoWrite(d=text)).r

    def info(self) -> InfoReadResponse:
        """The device's identity, uptime, reset reason and last fault (theraloop group)."""
        return self.request(InfoRead())

    def reset(self) -> None:
        """Ask the device to reset (OS group, reset). Returns once it has accepted."""
        self.request(ResetWrite())

    def fault_test(self, kind: FaultTestKind | int) -> None:
        """Make the device fault on purpose; it reboots with reset reason "fault".

        A device may fault before its answer is out, so a missing answer is not an error;
        an SMP error answer is.
        """
        try:
            self.request(FaultTestWrite(kind=int(kind)), timeout=min(self.timeout, 1.0))
        except DeviceTimeout:
            logger.debug("no answer to fault_test (device faulted first)")

    def raw(
        self, group: int, command: int, payload: dict[str, Any] | None = None, *, write: bool
    ) -> dict[Any, Any]:
        """Send a request to any group/command with a free-form CBOR map payload.

        Returns the decoded answer map; raises `DeviceError` when it is an SMP error
        (a v2 `err` map, or a non-zero v1 `rc`).
        """
        transport, _ = self._require_open()
        cls = request_class(group, command, write=write)
        try:
            req = cls(**(payload or {}))
        except (ValidationError, ValueError) as exc:
            raise UsageError(f"cannot build the request: {exc}") from exc
        self._check_size(len(req.BYTES))
        if self._stale_input:
            transport.flush_input()
            self._stale_input = False
        frame = self._run(transport.send_and_receive(req.BYTES), timeout=self.timeout)
        try:
            header = smphdr.Header.loads(frame[: smphdr.Header.SIZE])
            payload = frame[smphdr.Header.SIZE :]
            body = cbor2.loads(payload) if payload else {}
        except _PROTOCOL_ERRORS as exc:
            raise DeviceProtocolError(f"invalid response frame: {exc}") from exc
        if header.sequence != req.header.sequence:
            raise DeviceProtocolError(
                f"response sequence {header.sequence} does not match request {req.header.sequence}"
            )
        if int(header.group_id) != group or int(header.command_id) != command:
            raise DeviceProtocolError(
                f"response is for group {int(header.group_id)} command "
                f"{int(header.command_id)}, not group {group} command {command}"
            )
        if not isinstance(body, dict):
            raise DeviceProtocolError(f"response payload is not a CBOR map: {body!r}")
        err = body.get("err")
        if isinstance(err, dict) and isinstance(err.get("rc"), int):
            err_group = err.get("group", group)
            err_group = err_group if isinstance(err_group, int) else group
            rc = err["rc"]
            rsn = body.get("rsn")
            raise DeviceError(
                err_group,
                rc,
                error_name(err_group, rc, version=2),
                version=2,
                reason=rsn if isinstance(rsn, str) else None,
            )
        rc = body.get("rc", 0)
        if isinstance(rc, int) and rc != 0:
            rsn = body.get("rsn")
            raise DeviceError(
                group,
                rc,
                error_name(group, rc, version=1),
                version=1,
                reason=rsn if isinstance(rsn, str) else None,
            )
        return body

    def write_raw(self, data: bytes) -> None:
        """Write bytes to the port unframed (to test the device's frame parser)."""
        transport, _ = self._require_open()
        transport.write_raw(data)

    def wait_ready(self, timeout: float, *, poll_timeout: float = 0.3) -> InfoReadResponse:
        """Poll `info` until the device answers (after a reset), reconnecting if needed.

        Raises `DeviceTimeout` if it does not answer within `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        last: TheraloopError | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                detail = f" (last error: {last})" if last is not None else ""
                raise DeviceTimeout(
                    f"device on {self.port} did not answer within {timeout:g} s{detail}"
                )
            try:
                if not self.is_open:
                    self.connect()
                return self.request(InfoRead(), timeout=min(poll_timeout, remaining))
            except DeviceUnavailable as exc:
                last = exc
                self.disconnect()
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
            except (DeviceTimeout, DeviceProtocolError) as exc:
                last = exc
                self._stale_input = True

    # --- internals -----------------------------------------------------------------

    def _require_open(self) -> tuple[SerialPortTransport, SMPClient]:
        if self._transport is None or self._client is None or self._runner is None:
            raise DeviceUnavailable(f"not connected to {self.port}")
        return self._transport, self._client

    def _check_size(self, size: int) -> None:
        assert self._transport is not None
        limit = self._transport.max_unencoded_size
        if size > limit:
            raise UsageError(
                f"request of {size} bytes exceeds the device's {limit}-byte SMP buffer"
            )

    def _run(
        self,
        coro: Coroutine[Any, Any, _T],
        *,
        timeout: float | None = None,
        enforce: bool = True,
    ) -> _T:
        """Run `coro` on this device's loop and map transport failures to our errors.

        With `enforce`, `coro` is cancelled after `timeout` seconds; without it, `coro`
        bounds itself and `timeout` only words the error message.
        """
        assert self._runner is not None
        try:
            if timeout is not None and enforce:
                return self._runner.run(asyncio.wait_for(coro, timeout))
            return self._runner.run(coro)
        except TheraloopError:
            raise
        except TimeoutError as exc:
            self._stale_input = True
            raise DeviceTimeout(
                f"no answer from device on {self.port} within {timeout or self.timeout:g} s"
            ) from exc
        except SMPTransportDisconnected as exc:
            self.disconnect()
            raise DeviceUnavailable(f"connection to {self.port} lost") from exc
        except _PROTOCOL_ERRORS as exc:
            self._stale_input = True
            raise DeviceProtocolError(f"invalid response from {self.port}: {exc}") from exc
