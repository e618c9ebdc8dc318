#!/usr/bin/env bash
# Install what theraloop needs on a Debian machine, idempotently and fast when done:
#   1. Debian packages (cross compiler, QEMU, CMake, clang for fuzzing, ...), only if a
#      tool is missing;
#   2. a Python venv in .venv with the pinned host tools, only if pyproject.toml changed.
# Runs as root (apt-get directly) or through sudo when available.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
check() { command -v "$1" >/dev/null 2>&1 || need_apt+=("${@:2}"); }
check arm-none-eabi-gcc gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib
check qemu-system-arm qemu-system-arm
check cmake cmake
check ninja ninja-build
check make make
check gcc gcc
check clang clang
check gdb-multiarch gdb-multiarch
check git git
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv python3-pip)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv python3-pip)
[ -f /usr/lib/arm-none-eabi/newlib/thumb/v7e-m+fp/hard/libc_nano.a ] || \
  need_apt+=(libnewlib-arm-none-eabi)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${need_apt[@]}" >/dev/null
fi

VENV=.venv
STAMP="$VENV/.theraloop-installed"
want=$(cat pyproject.toml VERSION | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating Python venv in $VENV"
  python3 -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "bootstrap: installing pinned host tools into $VENV (first run takes a minute)"
  # (grep drops this machine's pip-config notices about absent local mirrors)
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | { grep -v 'is ignored: it is neither' || true; }
  "$VENV/bin/python" -m pip install -q -e '.[dev]' 2>&1 | { grep -v 'is ignored: it is neither' || true; }
  echo "$want" > "$STAMP"
fi
