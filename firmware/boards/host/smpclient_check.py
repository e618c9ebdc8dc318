"""Talk to `theraloop-host --pty` with the unmodified smpclient (no theraloop code).

Usage: python firmware/boards/host/smpclient_check.py build/host/firmware/boards/host/theraloop-host

Starts the host executable, reads its {"pty": ...} line, and runs MCUmgr parameters,
echo (short and 1 KiB), OS info and reset through smpclient's serial transport.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from smpclient import SMPClient
from smpclient.generics import error, success
from smpclient.requests.os_management import (
    EchoWrite,
    MCUMgrParametersRead,
    OSApplicationInfoRead,
    ResetWrite,
)
from smpclient.transport.serial import SMPSerialTransport


async def run(pty: str) -> int:
    client = SMPClient(SMPSerialTransport(), pty)
    await client.connect()
    failures = 0
    params = await client.request(MCUMgrParametersRead())
    print("params:", params)
    failures += not success(params)
    for text in ("hello", "x" * 1024):
        echo = await client.request(EchoWrite(d=text))
        ok = success(echo) and echo.r == text
        print(f"echo {len(text)} chars:", "ok" if ok else echo)
        failures += not ok
    info = await client.request(OSApplicationInfoRead(format="a"))
    print("os info:", info)
    failures += not success(info)
    bad = await client.request(OSApplicationInfoRead(format="z"))
    print("os info bad format:", bad)
    failures += not error(bad)
    reset = await client.request(ResetWrite())
    print("reset:", reset)
    failures += not success(reset)
    await asyncio.sleep(0.1)
    again = await client.request(EchoWrite(d="after reset"))
    print("echo after reset:", again)
    failures += not success(again)
    await client.disconnect()
    return failures


def main() -> int:
    exe = sys.argv[1]
    proc = subprocess.Popen([exe, "--pty"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pty = json.loads(proc.stdout.readline())["pty"]
        print("pty:", pty)
        failures = asyncio.run(run(pty))
    finally:
        proc.terminate()
        rc = proc.wait(timeout=5)
    print("theraloop-host exit status:", rc)
    print("FAILURES:", failures)
    return 1 if failures or rc != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
