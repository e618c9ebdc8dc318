"""Regenerate the seed corpora of fuzz_smp_serial and fuzz_smp_packet.

    .venv/bin/python tests/fuzz/gen_smp_corpus.py

Seeds are valid requests as the host tools send them (built with the Python smp package),
plus a few malformed ones, so the fuzzers start from inputs that reach every handler.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cbor2
from smp import packet as smppacket
from smpclient.requests.os_management import (
    EchoWrite,
    MCUMgrParametersRead,
    OSApplicationInfoRead,
    ResetWrite,
)

HERE = Path(__file__).resolve().parent
THERALOOP_GROUP = 64


def raw(op: int, version: int, group: int, seq: int, cmd: int, body: bytes) -> bytes:
    return struct.pack("!BBHHBB", (version << 3) | op, 0, len(body), group, seq, cmd) + body


def frame(packet: bytes) -> bytes:
    return b"".join(smppacket.encode(packet, line_length=128))


def packets() -> dict[str, bytes]:
    return {
        "echo": EchoWrite(d="hello", sequence=1).BYTES,
        "echo_1k": EchoWrite(d="z" * 1024, sequence=2).BYTES,
        "params": MCUMgrParametersRead(sequence=3).BYTES,
        "os_info": OSApplicationInfoRead(format="a", sequence=4).BYTES,
        "reset": ResetWrite(sequence=5).BYTES,
        "info": raw(0, 1, THERALOOP_GROUP, 6, 0, cbor2.dumps({})),
        "fault_test": raw(2, 1, THERALOOP_GROUP, 7, 1, cbor2.dumps({"kind": 1})),
        "fault_test_bad": raw(2, 0, THERALOOP_GROUP, 8, 1, cbor2.dumps({"kind": 9})),
        "unknown_group": raw(0, 1, 99, 9, 0, cbor2.dumps({})),
        "nested": raw(2, 1, 0, 10, 0, cbor2.dumps({"x": [[1, {"y": b"\x00"}]], "d": "n"})),
        "echo_v1": EchoWrite(d="legacy", sequence=11, version=0).BYTES,
        "concatenated": EchoWrite(d="a", sequence=12).BYTES + MCUMgrParametersRead().BYTES,
    }


def main() -> None:
    serial_dir = HERE / "corpus" / "smp_serial"
    packet_dir = HERE / "corpus" / "smp_packet"
    serial_dir.mkdir(parents=True, exist_ok=True)
    packet_dir.mkdir(parents=True, exist_ok=True)
    pkts = packets()
    for name, pkt in pkts.items():
        (packet_dir / f"{name}.bin").write_bytes(pkt)
        (serial_dir / f"{name}.bin").write_bytes(frame(pkt))
    noisy = b"boot banner\r\n" + frame(pkts["echo"]) + b"log line\n" + frame(pkts["info"])
    (serial_dir / "noise_between_frames.bin").write_bytes(noisy)
    broken = frame(pkts["echo_1k"])[:300] + frame(pkts["params"])
    (serial_dir / "truncated_then_new.bin").write_bytes(broken)


if __name__ == "__main__":
    main()
