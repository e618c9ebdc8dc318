"""``python -m theraloop.model ...``: the ``theraloop model`` commands on their own."""

from __future__ import annotations

from theraloop.cli import TheraloopGroup
from theraloop.model.cli import model

main = TheraloopGroup(
    name="theraloop model",
    commands=model.commands,
    help=model.help,
    context_settings={"help_option_names": ["-h", "--help"]},
)

if __name__ == "__main__":
    main(prog_name="theraloop model")
