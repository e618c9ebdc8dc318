"""TensorFlow Lite Micro's figures for the benchmark models (issue 3, "Targets").

Measured on the same emulated Cortex-M4 (QEMU, exact instruction counts), real TFLM
built from its own sources (GCC 12.2, -mcpu=cortex-m4 -mfloat-abi=hard, release), for
the two models in models/bench/. Matched by file name stem.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final


@dataclass(frozen=True)
class TflmFigures:
    reference_instructions: int  # TFLM with its reference kernels
    cmsis_nn_instructions: int  # TFLM with CMSIS-NN kernels
    reference_arena: int  # smallest working arena, reference kernels (bytes)
    cmsis_nn_arena: int  # smallest working arena, CMSIS-NN (bytes)
    reference_flash_kb: float  # TFLM runtime flash, reference kernels (KB)
    cmsis_nn_flash_kb: float  # TFLM runtime flash, CMSIS-NN (KB)

    @property
    def smallest_arena(self) -> int:
        return min(self.reference_arena, self.cmsis_nn_arena)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


TFLM: Final[dict[str, TflmFigures]] = {
    "conv1d_classifier": TflmFigures(760_941, 255_435, 3_940, 4_040, 37.0, 68.6),
    "mlp_16_32_16_3": TflmFigures(12_391, 8_153, 1_560, 1_648, 23.2, 35.8),
}

TARGET_RATIO: Final = 0.8
"""Our target: at most 0.8x TFLM + CMSIS-NN's instructions."""

ENGINE_FLASH_TARGET_BYTES: Final = 37_000
"""Our target: engine flash below TFLM's runtime with reference kernels (~37.0 KB; taken
as 37,000 bytes, the stricter reading of KB)."""
