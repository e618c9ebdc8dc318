"""theraloop host tools: serial CLI, model tools, emulator runner, virtual patient."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("theraloop")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
