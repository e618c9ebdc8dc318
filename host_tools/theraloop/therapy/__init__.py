"""The device's therapy logic (policies, safety supervisor, event log, telemetry) driven
from Python through the software-in-the-loop library, plus its configuration table.

- :mod:`.config`  TherapyConfig: fields, validation, get/set (the firmware's own rules)
- :mod:`.sim`     Therapy: configure / command / step / run batches, events, telemetry
- :mod:`.codes`   enums and bit masks shared with the C headers
"""

from theraloop.therapy.codes import Command, Fault, Mode, Policy, TherapyState
from theraloop.therapy.config import Check, ConfigRejected, TherapyConfig, fields
from theraloop.therapy.sim import Therapy, batch_inputs

__all__ = [
    "Check",
    "Command",
    "ConfigRejected",
    "Fault",
    "Mode",
    "Policy",
    "Therapy",
    "TherapyConfig",
    "TherapyState",
    "batch_inputs",
    "fields",
]
