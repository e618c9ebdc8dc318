"""The virtual patient: neural signal for the device's AFE link, closed through its
stimulator link (docs/virtual-patient.md).

- :mod:`.base`        Patient protocol, Stimulation, Hop
- :mod:`.beta`        BetaPatient: synthetic STN LFP, beta bursts suppressed by stimulation
- :mod:`.replay`      ReplayPatient: the real STN recording; Bonn EEG with spliced seizures
- :mod:`.calibration` the measurement that calibrates BetaPatient on the STN recording
- :mod:`.artifacts`   stimulation pulse artifacts
- :mod:`.faults`      sensor and stimulator-link fault schedules
- :mod:`.afe`         VirtualAfe: signal -> int16 blocks -> AFE link bytes (with faults)
- :mod:`.stimulator`  Stimulator: reads STIM_SET frames, answers STATUS, energy
- :mod:`.data`        loaders of ../shared/data

The lockstep driver that runs a patient against a device is
:mod:`theraloop.sim.lockstep`.
"""

from theraloop.patient.afe import VirtualAfe
from theraloop.patient.artifacts import ArtifactParams, StimArtifact
from theraloop.patient.base import OFF, Hop, Patient, Stimulation
from theraloop.patient.beta import BetaParams, BetaPatient
from theraloop.patient.data import DataMissing
from theraloop.patient.faults import Fault, FaultKind, FaultSchedule
from theraloop.patient.replay import ReplayPatient, Seizure, score_detections
from theraloop.patient.stimulator import Stimulator

__all__ = [
    "OFF",
    "ArtifactParams",
    "BetaParams",
    "BetaPatient",
    "DataMissing",
    "Fault",
    "FaultKind",
    "FaultSchedule",
    "Hop",
    "Patient",
    "ReplayPatient",
    "Seizure",
    "StimArtifact",
    "Stimulation",
    "Stimulator",
    "VirtualAfe",
    "score_detections",
]
