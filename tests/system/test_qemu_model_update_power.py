"""Power cuts (QEMU killed with SIGKILL, restarted on the same flash file) in the middle of
a model upload, right after a model confirm/activate request, and during `config set`:
the device always boots with a valid model and a valid configuration, old or new, never a
mix (docs/model-update.md, docs/storage.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from model_update_support import (
    BETA,
    SEIZURE,
    Emu,
    hexed,
    model_request,
    retrained,
    sign,
    slot_states,
)

from theraloop.mgmt import ConfigWrite
from theraloop.update.client import ModelCommand, upload

pytestmark = pytest.mark.qemu

FACTORY_HASH = hashlib.sha256(BETA.read_bytes()).hexdigest()
DELAYS_S = (0.0, 0.002, 0.01, 0.03, 0.1, 0.5)
"""From "before the device read the request" to "long after it answered"."""
SETTLED_S = 0.5


class _Stop(Exception):
    pass


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    d = tmp_path_factory.mktemp("power-images")
    path = retrained(BETA, d / "beta_retrained.tflite")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def emu(firmware_elf: Path, tmp_path: Path) -> Iterator[Emu]:
    e = Emu.create(firmware_elf, tmp_path)
    e.boot()
    try:
        yield e
    finally:
        e.stop()


def _storage(info: Any) -> dict[str, Any]:
    assert info.model_extra is not None
    return dict(info.model_extra["storage"])


def test_power_cut_in_the_middle_of_an_upload(
    emu: Emu, model: tuple[Path, str], tmp_path: Path
) -> None:
    image = sign(SEIZURE, tmp_path / "seizure.img")  # ~8 KB: several chunks
    chunks: list[int] = []

    def cut_after_two(off: int) -> None:
        chunks.append(off)
        if len(chunks) == 2:
            raise _Stop

    with emu.device() as dev, pytest.raises(_Stop):
        upload(dev, image, image=1, progress=cut_after_two)
    assert 0 < chunks[-1] < len(image)
    info = emu.power_cut()
    assert info.reset_reason == "power_on" and info.fault is None
    assert _storage(info)["state_store"] in ("ok", "empty")
    assert emu.model_sha() == FACTORY_HASH
    listing = emu.listing()
    assert listing["active"]["slot"] == -1
    assert "valid" not in slot_states(listing).values(), listing
    r = emu.cli("model", "activate", "a")
    assert r.exit_code == 1
    # a new upload goes through and validates
    pushed = emu.cli_json("model", "push", str(model[0]), "--activate", "--confirm")
    assert pushed["state"] == "valid"
    assert emu.model_sha() == model[1]


def _check_consistent(emu: Emu, info: Any, new_sha: str) -> str:
    """A bound model that is the old or the new one, and a configuration, model group
    state and storage status that agree with it. Returns "old" or "new"."""
    storage = _storage(info)
    assert storage["state_store"] in ("ok", "empty")
    assert storage["config"] in ("restored", "defaults")
    st = emu.cli_json("status")["model"]
    assert st["state"] == "bound", st
    sha = hexed(st["sha256"])
    listing = emu.listing()
    assert "test" not in listing  # nothing about a test run survives
    if sha == new_sha:
        assert emu.config("model") == {"model": "slot_a"}
        assert listing["active"]["slot"] == 0 and listing["previous"] == "beta_biomarker"
        assert storage["config"] == "restored"
        return "new"
    assert sha == FACTORY_HASH
    assert emu.config("model") == {"model": "beta_biomarker"}
    assert listing["active"]["slot"] == -1
    assert slot_states(listing)[0] == "valid"
    return "old"


@pytest.mark.parametrize("delay", DELAYS_S)
@pytest.mark.parametrize("how", ["confirm", "activate_confirm"])
def test_power_cut_right_after_a_model_request(
    emu: Emu, model: tuple[Path, str], how: str, delay: float
) -> None:
    path, new_sha = model
    if how == "confirm":
        emu.cli_json("model", "push", str(path), "--activate")  # on test
        body = model_request(ModelCommand.CONFIRM)
    else:
        emu.cli_json("model", "push", str(path))
        body = model_request(ModelCommand.ACTIVATE, slot=0, confirm=True)
    info = emu.send_and_cut(body, delay)
    outcome = _check_consistent(emu, info, new_sha)
    if delay >= SETTLED_S:
        assert outcome == "new"
    # whatever survived, a second power cycle changes nothing
    again = emu.restart()
    assert _check_consistent(emu, again, new_sha) == outcome


OLD = {"policy": "open_loop", "open_loop_amplitude_ua": 800, "adaptive_threshold_upper": 100}
NEW = {"policy": "adaptive", "open_loop_amplitude_ua": 1200, "adaptive_threshold_upper": 16384}


@pytest.mark.parametrize("delay", DELAYS_S)
def test_power_cut_during_config_set(emu: Emu, delay: float) -> None:
    r = emu.cli("config", "set", *(f"{k}={v}" for k, v in OLD.items()))
    assert r.exit_code == 0, r.stderr
    assert emu.config(*OLD) == OLD
    info = emu.send_and_cut(bytes(ConfigWrite(set=NEW).BYTES), delay)
    assert _storage(info)["config"] == "restored"
    got = emu.config(*OLD)
    assert got in (OLD, NEW), got
    if delay >= SETTLED_S:
        assert got == NEW
    assert emu.model_sha() == FACTORY_HASH
