"""Errors of the model tools, each with the CLI exit code it maps to."""

from __future__ import annotations

from theraloop.errors import ExitCode, TheraloopError


class ModelRejected(TheraloopError):
    """The model cannot be used as asked: a broken file, or the engine cannot run it."""

    exit_code = ExitCode.USAGE  # 2


class EngineUnavailable(TheraloopError):
    """The engine's host library cannot be loaded (not built, or built for another ABI)."""

    exit_code = ExitCode.USAGE  # 2


class EngineRunFailed(TheraloopError):
    """The engine loaded the model but failed to run a case (a verification failure)."""

    exit_code = ExitCode.DEVICE_ERROR  # 1, like any failed verification
