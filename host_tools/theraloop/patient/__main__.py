"""``python -m theraloop.patient``: the calibration figures of the STN recording next to
those of the synthetic BetaPatient (docs/virtual-patient.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from theraloop.patient.beta import BetaPatient
from theraloop.patient.calibration import measure, stn_reference_signal


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m theraloop.patient",
        description="Calibration figures: the STN recording vs the synthetic BetaPatient.",
    )
    parser.add_argument("--data", type=Path, default=None, help="default: ../shared/data")
    parser.add_argument("--seconds", type=float, default=600.0, help="synthetic duration")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate", type=int, default=1000, choices=(250, 500, 1000))
    args = parser.parse_args(argv)
    x, fs = stn_reference_signal(args.data)
    real = measure(x, fs)
    synth = measure(BetaPatient(args.rate, seed=args.seed).generate(args.seconds), args.rate)
    print(f"{'figure':<22}{'recording':>14}{'BetaPatient':>14}")
    for key, value in real.as_dict().items():
        print(f"{key:<22}{value:>14.4g}{synth.as_dict()[key]:>14.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
