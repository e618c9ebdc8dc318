"""The virtual stimulator: reads the device's STIM_SET frames, applies them, answers.

It parses the byte stream the device writes on its stimulator link with the reference
parser (:class:`theraloop.links.stim.StimParser`, same rules and counters as the
device's), applies each valid STIM_SET at once (the stimulation the patient receives),
keeps the history, and accounts for what is delivered:

- **charge** per phase = I x pw; total charge = sum over pulses of both phases' |charge|;
- **energy** (the total electrical energy delivered, TEED-style, Koss et al. 2005) =
  2 phases x I^2 x R x pw x rate x time, with the electrode impedance R
  (`impedance_ohm`, default 1 kOhm);
- **compliance**: with `compliance_v` set, a current above compliance_v / R cannot be
  driven: it is delivered at the limit and reported with status 3 (compliance).

With ``ack=True`` it answers every STIM_SET with a STATUS frame (ack_seq = its seq,
status, output active, delivered current, impedance). A STIM_SET it cannot accept
(reserved bits set, disabled with an amplitude, waveform unknown) is refused with status
1 (bad frame) and not applied. Link faults from the schedule (:mod:`.faults`: no_ack,
error_status, bad_ack_seq, corrupt_status) change or suppress the answers while active.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from theraloop.links import stim as link
from theraloop.patient.base import OFF, Stimulation
from theraloop.patient.faults import FaultKind, FaultSchedule

DEFAULT_IMPEDANCE_OHM = 1000.0


@dataclass
class StimulatorStats:
    commands: int = 0
    """Valid STIM_SET frames applied."""
    refused: int = 0
    """STIM_SET frames with invalid contents."""
    other_frames: int = 0
    """Frames of another type (a device never sends them)."""
    seq_gaps: int = 0
    """Times a STIM_SET's seq was not the previous one + 1."""
    statuses: int = 0
    """STATUS frames sent back."""
    suppressed: int = 0
    """Acknowledgments not sent (no_ack fault)."""
    energy_j: float = 0.0
    charge_uc: float = 0.0
    pulses: float = 0.0
    stim_on_s: float = 0.0


@dataclass(frozen=True)
class Applied:
    """A change of the delivered stimulation."""

    time_s: float
    command: link.StimCommand
    stimulation: Stimulation


@dataclass
class Stimulator:
    ack: bool = False
    impedance_ohm: float = DEFAULT_IMPEDANCE_OHM
    compliance_v: float | None = None
    faults: FaultSchedule = field(default_factory=FaultSchedule)
    stats: StimulatorStats = field(default_factory=StimulatorStats)
    state: Stimulation = OFF
    """What is being delivered now."""
    history: list[Applied] = field(default_factory=list)
    """Every change of the delivered stimulation (not the idempotent repeats)."""
    parser: link.StimParser = field(default_factory=link.StimParser)
    last_status: int | None = None
    """Status code of the last STATUS frame sent by the latest respond() (None: none)."""
    _last_seq: int | None = None
    _pending: list[tuple[link.StimCommand | None, int, int]] = field(default_factory=list)
    _limited: bool = False

    def __post_init__(self) -> None:
        if self.impedance_ohm <= 0:
            raise ValueError("impedance_ohm must be > 0")
        if self.compliance_v is not None and self.compliance_v <= 0:
            raise ValueError("compliance_v must be > 0")

    @property
    def max_current_ua(self) -> int | None:
        if self.compliance_v is None:
            return None
        return int(self.compliance_v / self.impedance_ohm * 1e6)

    def receive(self, data: bytes, time_s: float) -> list[link.StimCommand | None]:
        """Parse bytes from the device; apply each STIM_SET. Returns one entry per
        STIM_SET frame: the command, or None for a refused one."""
        out: list[link.StimCommand | None] = []
        for frame in self.parser.feed(data):
            if frame.type != link.TYPE_SET:
                self.stats.other_frames += 1
                continue
            try:
                cmd = link.decode_set(frame)
            except link.StimFrameError:
                self.stats.refused += 1
                seq = int.from_bytes(frame.payload[:2], "little") if len(frame.payload) >= 2 else 0
                self._pending.append((None, seq, link.Status.BAD_FRAME))
                out.append(None)
                continue
            if self._last_seq is not None and cmd.seq != (self._last_seq + 1) & 0xFFFF:
                self.stats.seq_gaps += 1
            self._last_seq = cmd.seq
            self.stats.commands += 1
            self._apply(cmd, time_s)
            status = link.Status.COMPLIANCE if self._limited else link.Status.OK
            self._pending.append((cmd, cmd.seq, status))
            out.append(cmd)
        return out

    def respond(self, time_s: float) -> bytes:
        """STATUS frames for the STIM_SETs received since the last call (``ack=True``),
        changed by the link faults active at `time_s`."""
        pending, self._pending = self._pending, []
        self.last_status = None
        if not self.ack:
            return b""
        out = bytearray()
        for _, seq, status in pending:
            if self.faults.at(time_s, FaultKind.NO_ACK):
                self.stats.suppressed += 1
                continue
            err = self.faults.at(time_s, FaultKind.ERROR_STATUS)
            if err is not None:
                status = int(err.value or 0)
            ack_seq = seq
            if self.faults.at(time_s, FaultKind.BAD_ACK_SEQ):
                ack_seq = (seq + 0x8000) & 0xFFFF
            st = link.StimStatus(
                ack_seq=ack_seq,
                status=status,
                output_active=self.state.active,
                delivered_ua=self.state.amplitude_ua if self.state.active else 0,
                impedance_ohm=min(round(self.impedance_ohm), 0xFFFF),
            )
            frame = link.encode_status(st)
            if self.faults.at(time_s, FaultKind.CORRUPT_STATUS):
                frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
            out += frame
            self.last_status = int(status)
            self.stats.statuses += 1
        return bytes(out)

    def deliver(self, seconds: float) -> None:
        """Account for `seconds` of the current stimulation."""
        s = self.state
        if not s.active or seconds <= 0:
            return
        amp_a = s.amplitude_ua * 1e-6
        pw_s = s.pulse_width_us * 1e-6
        pulses = s.rate_hz * seconds
        self.stats.pulses += pulses
        self.stats.stim_on_s += seconds
        self.stats.charge_uc += 2 * amp_a * pw_s * pulses * 1e6
        self.stats.energy_j += 2 * amp_a**2 * self.impedance_ohm * pw_s * pulses

    def link_faults(self, time_s: float) -> int:
        """FaultKind bits of the link faults active at time_s (only with ``ack``)."""
        if not self.ack:
            return 0
        bits = 0
        for kind in (
            FaultKind.NO_ACK,
            FaultKind.ERROR_STATUS,
            FaultKind.BAD_ACK_SEQ,
            FaultKind.CORRUPT_STATUS,
        ):
            if self.faults.at(time_s, kind):
                bits |= kind.bit
        return bits

    def _apply(self, cmd: link.StimCommand, time_s: float) -> None:
        new = Stimulation.from_command(cmd)
        limit = self.max_current_ua
        self._limited = limit is not None and new.amplitude_ua > limit
        if self._limited and limit is not None:
            new = Stimulation(new.enabled, limit, new.pulse_width_us, new.rate_dhz)
        if new != self.state:
            self.history.append(Applied(time_s, cmd, new))
        self.state = new
