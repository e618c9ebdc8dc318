"""Seed corpus of tests/fuzz/fuzz_mgmt_img.c: image-group request sequences.

Run from the repository root:  .venv/bin/python tests/fuzz/gen_mgmt_img_corpus.py

Input format (see the fuzzer): a flags byte, then [length u16 BE][SMP packet] records.
The upload seeds carry a real signed image of tests/unit/data/fw_update (parsed back out of
fw_images.h), so the fuzzer starts from complete, accepted uploads.
"""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path

import cbor2

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus/mgmt_img"
IMAGES = ROOT / "tests/unit/data/fw_update/fw_images.h"


def image(name: str) -> bytes:
    text = IMAGES.read_text()
    m = re.search(rf"static const uint8_t {name}\[\d+\] = \{{(.*?)\}};", text, re.S)
    assert m is not None, name
    return bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", m.group(1)))


def packet(op: int, cmd: int, body: dict[str, object], version: int = 1) -> bytes:
    payload = cbor2.dumps(body)
    hdr = struct.pack(">BBHHBB", (version << 3) | op, 0, len(payload), 1, 0, cmd)
    return hdr + payload


def record(pkt: bytes) -> bytes:
    return struct.pack(">H", len(pkt)) + pkt


def upload(img: bytes, step: int, sha: bool = True) -> list[bytes]:
    out = []
    for off in range(0, len(img), step):
        body: dict[str, object] = {"off": off, "data": img[off : off + step]}
        if off == 0:
            body.update({"image": 0, "len": len(img)})
            if sha:
                body["sha"] = hashlib.sha256(img).digest()
        out.append(packet(2, 1, body))
    return out


def write(name: str, flags: int, pkts: list[bytes]) -> None:
    (OUT / f"{name}.bin").write_bytes(bytes([flags]) + b"".join(record(p) for p in pkts))


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    good = image("fw_v1_1")
    good_hash = image("fw_v1_1_hash")
    write("state_read", 0, [packet(0, 0, {})])
    write("upload_test", 0, [*upload(good, 1500), packet(2, 0, {"hash": good_hash})])
    write(
        "upload_confirm_erase",
        0,
        [
            *upload(good, 1800, sha=False),
            packet(2, 0, {"hash": good_hash, "confirm": True}),
            packet(2, 0, {"confirm": True}),
            packet(2, 5, {"slot": 1}),
        ],
    )
    resume = upload(good, 1000)
    write("resume", 0, [resume[0], resume[1], resume[0], resume[2], resume[1], *resume[2:]])
    write("busy", 1, [*upload(good, 1500), packet(2, 5, {})])
    write("bad_key", 0, upload(image("fw_v1_5_other_key"), 1500))
    write("v1_errors", 0, [packet(2, 0, {"hash": b"\x00" * 32}, version=0)])


if __name__ == "__main__":
    main()
