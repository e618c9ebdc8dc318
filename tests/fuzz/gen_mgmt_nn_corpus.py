"""Regenerate the seed corpus of fuzz_mgmt_nn (tests/fuzz/corpus/mgmt_nn/).

    .venv/bin/python tests/fuzz/gen_mgmt_nn_corpus.py

Each seed is a session as the host tools run it (packets built with theraloop.mgmt,
concatenated): chunked uploads of real models, loads, invokes, state reads, plus the
error paths (wrong offsets, a resumed upload, a hash mismatch, a refused model).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from theraloop.mgmt import NnInvokeWrite, NnLoadWrite, NnStateRead, NnUploadWrite

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHUNK = 1900


def upload(data: bytes, *, sha: bytes | None = None, chunk: int = CHUNK) -> list[bytes]:
    digest = sha if sha is not None else hashlib.sha256(data).digest()[:16]
    out = []
    for off in range(0, len(data), chunk):
        part = data[off : off + chunk]
        if off == 0:
            out.append(NnUploadWrite(off=0, data=part, len=len(data), sha=digest).BYTES)
        else:
            out.append(NnUploadWrite(off=off, data=part).BYTES)
    return out


def sessions() -> dict[str, list[bytes]]:
    two_io = (ROOT / "tests/models/int8/two_inputs_two_outputs.tflite").read_bytes()
    mlp = (ROOT / "models/bench/mlp_16_32_16_3.tflite").read_bytes()
    float_io = (ROOT / "tests/models/int8/float_io.tflite").read_bytes()
    bad = bytearray(mlp)
    bad[4:8] = b"TFL2"
    return {
        "two_io": [
            *upload(two_io),
            NnLoadWrite().BYTES,
            NnInvokeWrite(inputs=[bytes(5), bytes(range(32))]).BYTES,
            NnStateRead().BYTES,
        ],
        "mlp_exact_arena": [
            *upload(mlp, chunk=700),
            NnLoadWrite(arena=779).BYTES,
            NnStateRead().BYTES,
            NnLoadWrite(arena=780).BYTES,
            NnInvokeWrite(inputs=[bytes(range(16))]).BYTES,
        ],
        "float_io": [
            *upload(float_io),
            NnLoadWrite().BYTES,
            NnInvokeWrite(inputs=[bytes(48)]).BYTES,
        ],
        "refused_keeps_model": [
            *upload(mlp),
            NnLoadWrite().BYTES,
            *upload(bytes(bad)),
            NnLoadWrite().BYTES,
            NnStateRead().BYTES,
            NnInvokeWrite(inputs=[bytes(16)]).BYTES,
        ],
        "offsets": [
            upload(mlp)[0],
            NnUploadWrite(off=4000, data=mlp[4000:4100]).BYTES,
            upload(mlp)[0],  # the same file again: resumes
            *upload(mlp)[1:],
            NnStateRead().BYTES,
        ],
        "hash_mismatch": [*upload(mlp, sha=b"\x00" * 8), NnLoadWrite().BYTES],
    }


def main() -> None:
    out = HERE / "corpus" / "mgmt_nn"
    out.mkdir(parents=True, exist_ok=True)
    for name, packets in sessions().items():
        (out / name).write_bytes(b"".join(packets))
    print(f"wrote {len(sessions())} seeds to {out}")


if __name__ == "__main__":
    main()
