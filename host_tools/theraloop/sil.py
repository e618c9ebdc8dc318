"""The portable firmware core as a shared library, for software-in-the-loop runs.

`libtheraloop_sil.so` (built by `make host` from firmware/boards/host/sil_lib.cmake) is the
whole core plus the host platform, uninstrumented and position-independent. Modules that
drive a part of the core from Python (features, therapy logic, the control loop) declare
the C signatures they use on the `ctypes.CDLL` returned by `library()`.
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

from theraloop.errors import UsageError
from theraloop.paths import host_build_dir

SIL_LIBRARY = Path("firmware/boards/host/libtheraloop_sil.so")
"""Where the library is, relative to the host build tree."""


class SilLibraryMissing(UsageError):
    """libtheraloop_sil.so has not been built."""


def library_path() -> Path:
    return host_build_dir() / SIL_LIBRARY


@cache
def library() -> ctypes.CDLL:
    """Load the SIL library once per process, with the virtual clock switched on."""
    path = library_path()
    if not path.is_file():
        raise SilLibraryMissing(f"{path} not found: run `make host` first")
    lib = ctypes.CDLL(str(path))
    lib.tl_host_use_virtual_clock.argtypes = [ctypes.c_bool]
    lib.tl_host_use_virtual_clock.restype = None
    lib.tl_host_advance_ms.argtypes = [ctypes.c_uint32]
    lib.tl_host_advance_ms.restype = None
    lib.tl_platform_uptime_ms.argtypes = []
    lib.tl_platform_uptime_ms.restype = ctypes.c_uint32
    lib.tl_host_use_virtual_clock(True)
    return lib
