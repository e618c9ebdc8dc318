"""Codes shared with the C therapy core (therapy/*.h): enums and fault/clamp bits."""

from __future__ import annotations

import enum


class Policy(enum.IntEnum):
    OPEN_LOOP = 0
    ADAPTIVE = 1
    RESPONSIVE = 2


class Fallback(enum.IntEnum):
    OFF = 0
    SUSPEND = 1


class AdaptiveMode(enum.IntEnum):
    SINGLE = 0
    DUAL = 1


class TherapyState(enum.IntEnum):
    OFF = 0
    RUNNING = 1
    PAUSED = 2


class Mode(enum.IntEnum):
    """Where the supervisor's output comes from (tl_sup_mode_t)."""

    IDLE = 0
    POLICY = 1
    FALLBACK = 2
    LINK_SAFE = 3
    LOCKOUT = 4


class Command(enum.IntEnum):
    START = 1
    STOP = 2
    PAUSE = 3
    RESUME = 4


class CommandResult(enum.IntEnum):
    OK = 0
    ERR_STATE = 1
    ERR_LOCKOUT = 2
    ERR_ARG = 3


class PolicyState(enum.IntEnum):
    NONE = 0
    OPEN_LOOP = 1
    ADAPTIVE_STARTUP = 2
    ADAPTIVE_LOW = 3
    ADAPTIVE_MID = 4
    ADAPTIVE_HIGH = 5
    RESPONSIVE_IDLE = 6
    RESPONSIVE_BURST = 7
    RESPONSIVE_REFRACTORY = 8
    RESPONSIVE_EPISODE = 9
    RESPONSIVE_LIMITED = 10


class PolicyEvent(enum.IntEnum):
    NONE = 0
    START = 1
    STARTUP_DONE = 2
    ZONE_UP = 3
    ZONE_DOWN = 4
    BURST_START = 5
    BURST_END = 6
    EPISODE_END = 7
    LIMIT_EPISODE = 8
    LIMIT_DAY = 9


class EventType(enum.IntEnum):
    THERAPY = 1
    FAULT = 2
    COMMAND = 3
    CONFIG = 4
    POLICY = 5
    CONFIG_REFUSED = 6
    STORAGE = 7
    MODEL = 8


class StorageEvent(enum.IntEnum):
    """`detail` of a STORAGE event (tl_storage_event_t)"""

    CORRUPT = 1
    INCOMPATIBLE = 2
    SAVE_FAILED = 3
    REFUSED = 4
    UNAVAILABLE = 5


class Reason(enum.IntEnum):
    NONE = 0
    POLICY = 1
    CLAMP = 2
    FAULT = 3
    RECOVERED = 4
    COMMAND = 5
    LINK = 6
    LOCKOUT = 7
    CONFIG = 8


class ConfigError(enum.IntEnum):
    """tl_therapy_cfg_err_t"""

    OK = 0
    ARG = 1
    UNKNOWN_FIELD = 2
    RANGE = 3
    ORDER = 4
    CHARGE = 5
    CHARGE_DENSITY = 6
    SHANNON = 7
    OUTSIDE_LIMITS = 8
    RAMP = 9
    BURST_SLEW = 10
    TIMING = 11
    THRESHOLDS = 12
    CHOICE = 13


class Fault(enum.IntFlag):
    """Fault bits presented to the supervisor each step (TL_TFAULT_*)."""

    SATURATION = 1 << 0
    FLATLINE = 1 << 1
    DROPOUT = 1 << 2
    ARTIFACT = 1 << 3
    MODEL_LOAD = 1 << 8
    MODEL_INFERENCE = 1 << 9
    MODEL_DEADLINE = 1 << 10
    LINK_TIMEOUT = 1 << 16
    LINK_NACK = 1 << 17
    LINK_DEVICE = 1 << 18


SENSOR_MASK = 0xFF0000FF
"""Sensor-class bits (0-7; unknown bits 24-31 fail safe into the same class)."""
MODEL_MASK = 0x0000FF00
LINK_MASK = 0x00FF0000


class Clamp(enum.IntFlag):
    """Which limit cut a request (TL_CLAMP_*)."""

    AMPLITUDE = 1 << 0
    PW_MIN = 1 << 1
    PW_MAX = 1 << 2
    RATE_MIN = 1 << 3
    RATE_MAX = 1 << 4
    CHARGE = 1 << 5
    SLEW = 1 << 6


CHARGE_DENSITY_ABS_MAX_CUC = 3000
"""No configuration may allow more than 30.00 uC/cm2/phase."""
SHANNON_K_ABS_MAX_MILLI = 1850
