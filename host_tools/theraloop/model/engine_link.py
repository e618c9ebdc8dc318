"""Access to our engine's host build (``theraloop.engine``, a ctypes binding).

The binding loads ``libtheraloop_nn.so`` from the host build tree; where that is not
built, the model tools still work from the file alone and say what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

from theraloop.model.errors import EngineUnavailable


def engine_module() -> ModuleType:
    """``theraloop.engine``, or :class:`EngineUnavailable` with a readable reason."""
    try:
        from theraloop import engine
    except (ImportError, OSError) as e:
        raise EngineUnavailable(
            f"the engine's host library cannot be loaded ({e}); build it with `make host`"
        ) from e
    return engine


@dataclass(frozen=True)
class EngineVerdict:
    """What the engine says about a model: loaded (with its figures) or why not."""

    available: bool
    loaded: bool = False
    arena_bytes: int | None = None
    macs: int | None = None
    op_names: tuple[str, ...] = ()
    error: str | None = None  # readable message
    error_name: str | None = None  # engine status name, e.g. "UNSUPPORTED_OP"
    error_op: int | None = None  # failing operator index

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"available": self.available, "loaded": self.loaded}
        if self.loaded:
            out["arena_bytes"] = self.arena_bytes
            out["macs"] = self.macs
        if self.error is not None:
            out["error"] = self.error
            out["error_name"] = self.error_name
            out["error_op"] = self.error_op
        return out


def engine_error_text(err: Exception) -> tuple[str, str | None, int | None]:
    """(message, status name, op index) of an ``EngineError``."""
    name = getattr(err, "name", None)
    op_index = getattr(err, "op_index", None)
    return str(err), name, op_index


def load_verdict(model: bytes) -> EngineVerdict:
    """Load ``model`` into the engine (exact arena) and report the outcome."""
    try:
        mod = engine_module()
    except EngineUnavailable as e:
        return EngineVerdict(available=False, error=str(e))
    try:
        eng = mod.Engine(model)
    except mod.EngineError as e:
        msg, name, op_index = engine_error_text(e)
        return EngineVerdict(
            available=True, loaded=False, error=msg, error_name=name, error_op=op_index
        )
    except OSError as e:  # the shared library itself failed to load
        return EngineVerdict(available=False, error=f"the engine's host library: {e}")
    return EngineVerdict(
        available=True,
        loaded=True,
        arena_bytes=int(eng.arena_bytes),
        macs=int(eng.macs),
        op_names=tuple(eng.op_names),
    )
