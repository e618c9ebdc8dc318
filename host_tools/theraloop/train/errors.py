"""Errors of the training tools, each with the CLI exit code it maps to."""

from __future__ import annotations

from theraloop.errors import ExitCode, TheraloopError, UsageError


class DataError(UsageError):
    """The data folder is missing or not laid out as the recipe expects (exit 2)."""


class RecipeError(UsageError):
    """The recipe does not exist or its configuration is invalid (exit 2)."""


class NotBitExact(TheraloopError):
    """Our engine and the tflite-micro reference disagree on a trained model (exit 1).

    Never expected: the engine is bit-exact by design, so this stops a training run
    rather than shipping numbers that the device would not reproduce.
    """

    exit_code = ExitCode.DEVICE_ERROR


class QuantizationError(TheraloopError):
    """The converter produced a model whose input/output contract is not the intended one."""

    exit_code = ExitCode.INTERNAL
