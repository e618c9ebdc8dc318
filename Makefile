# theraloop: `make demo` runs the main job, `make test` runs the whole suite.
# Both install what they need first (scripts/bootstrap.sh) and are fast once installed.

VENV      := .venv
PY        := $(VENV)/bin/python
TL        := $(VENV)/bin/theraloop
BUILD     := build
FW_DIR    := $(BUILD)/stm32f4
HOST_DIR  := $(BUILD)/host
FW_ELF    := $(FW_DIR)/firmware/boards/stm32f4/theraloop.elf
JOBS      ?= $(shell nproc)
GEN       := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all demo test bootstrap build firmware host unit pytest lint clean distclean

all: build

bootstrap:
	@scripts/bootstrap.sh

# Configure a build tree only once (or when its cache is gone); builds are incremental.
$(FW_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(FW_DIR) $(GEN) -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake \
	  -DTL_PYTHON=$(abspath $(PY)) -DCMAKE_BUILD_TYPE=Release \
	  -DTL_HOST_BUILD_DIR=$(abspath $(HOST_DIR)) >/dev/null

$(HOST_DIR)/CMakeCache.txt: | bootstrap
	cmake -S . -B $(HOST_DIR) $(GEN) -DCMAKE_C_COMPILER=clang \
	  -DTL_PYTHON=$(abspath $(PY)) >/dev/null

# The firmware's factory models are converted with the engine's host library (their exact
# arena size), so that one target of the host tree is built first.
firmware: bootstrap $(FW_DIR)/CMakeCache.txt $(HOST_DIR)/CMakeCache.txt
	cmake --build $(HOST_DIR) --target theraloop_nn -j $(JOBS)
	cmake --build $(FW_DIR) -j $(JOBS)

host: bootstrap $(HOST_DIR)/CMakeCache.txt
	cmake --build $(HOST_DIR) -j $(JOBS)

build: firmware host

demo: build
	$(TL) demo --elf $(FW_ELF) --out $(BUILD)/demo

unit: host
	ctest --test-dir $(HOST_DIR) --output-on-failure -j $(JOBS)

lint: bootstrap
	$(VENV)/bin/ruff check host_tools tests
	$(VENV)/bin/ruff format --check host_tools tests

pytest: build
	THERALOOP_ELF=$(abspath $(FW_ELF)) THERALOOP_HOST_BUILD=$(abspath $(HOST_DIR)) \
	  $(VENV)/bin/pytest -q

test: lint unit pytest

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf $(VENV)
