"""Remote model update on the emulated device (docs/model-update.md), end to end over the
real serial protocol: `theraloop model push/activate/confirm/rollback`, `status`, test
runs across resets, automatic confirmation while the loop runs on AFE samples, bad images
refused with the running model untouched, persistence across a QEMU restart, and
smpclient's own image upload (image 1) over a pty.

Power cuts: test_qemu_model_update_power.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_update_support import (
    BETA,
    BIG_ARENA,
    MLP,
    OTHER_KEY,
    SEIZURE,
    Emu,
    hexed,
    retrained,
    sign,
    sign_unsigned,
    slot_states,
)
from smpclient import SMPClient
from smpclient.generics import success
from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite
from smpclient.transport.serial import SMPSerialTransport

from theraloop.errors import DeviceError
from theraloop.loop import client
from theraloop.loop import scenarios as sc
from theraloop.update.client import model_list, upload
from theraloop.update.image import parse_image

pytestmark = pytest.mark.qemu

FACTORY_HASH = hashlib.sha256(BETA.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The retrained model (a .tflite and signed), and every kind of bad image."""
    d = tmp_path_factory.mktemp("model-images")
    model = retrained(BETA, d / "beta_retrained.tflite")
    good = sign(model, d / "good.img")
    bad_hash = bytearray(good)
    bad_hash[0x20 + 100] ^= 0x01  # one payload bit: the hash TLV no longer matches
    bad_magic = bytearray(good)
    bad_magic[0] ^= 0xFF
    padded = d / "padded.tflite"
    padded.write_bytes(BETA.read_bytes() + bytes(0x21000))  # > the 128 KiB slot
    junk = d / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 8)
    return {
        "model": model,
        "model_sha": hashlib.sha256(model.read_bytes()).hexdigest(),
        "good": good,
        "bad": {
            "bad_hash": bytes(bad_hash),
            "truncated": good[: len(good) // 2],
            "bad_magic": bytes(bad_magic),
            "oversized": sign(padded, d / "big.img", slot_size=0x40000),
            "unsigned": sign_unsigned(model, d / "unsigned.img"),
            "wrong_key": sign(model, d / "other-key.img", key=OTHER_KEY),
            "not_a_model": sign(
                junk, d / "junk.img", non_bootable=True, header_size=0x20, slot_size=0x20000
            ),
            "contract": sign(MLP, d / "mlp.img"),
            "raw_contract": sign(SEIZURE, d / "seizure.img"),
            "arena": sign(BIG_ARENA, d / "arena.img"),
        },
    }


@pytest.fixture
def emu(firmware_elf: Path, tmp_path: Path) -> Iterator[Emu]:
    """A factory-fresh device of its own (flash file in tmp_path)."""
    e = Emu.create(firmware_elf, tmp_path)
    e.boot()
    try:
        yield e
        e.runner.check_running()
    finally:
        e.stop()


@pytest.fixture(scope="module")
def shared_emu(firmware_elf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emu]:
    """One device for the tests that leave its running model as it was."""
    e = Emu.create(firmware_elf, tmp_path_factory.mktemp("shared-flash"))
    e.boot()
    try:
        yield e
    finally:
        e.stop()


def _push(emu: Emu, file: Path, *args: str) -> dict[str, Any]:
    return dict(emu.cli_json("model", "push", str(file), *args))


# --- the "done when" of issue #5 ---------------------------------------------------------


def test_push_activate_confirm_rollback(emu: Emu, images: dict[str, Any]) -> None:
    assert emu.model_sha() == FACTORY_HASH
    assert emu.config("model") == {"model": "beta_biomarker"}

    pushed = _push(emu, images["model"], "--activate")
    assert (pushed["slot"], pushed["state"], pushed["activated"]) == (0, "valid", True)
    assert hexed(pushed["model_sha256"]) == images["model_sha"]
    # the loop runs the new model at once, on test
    assert emu.model_sha() == images["model_sha"] != FACTORY_HASH
    listing = emu.listing()
    assert listing["active"]["slot"] == 0 and listing["test"]["slot"] == 0

    assert emu.cli("model", "confirm").exit_code == 0
    listing = emu.listing()
    assert "test" not in listing and listing["active"]["slot"] == 0
    assert listing["previous"] == "beta_biomarker"
    assert emu.config("model") == {"model": "slot_a"}
    assert emu.model_sha() == images["model_sha"]
    r = emu.cli("model", "confirm")  # nothing on test any more
    assert r.exit_code == 1 and "NO_TEST" in r.stderr

    r = emu.cli("model", "rollback")
    assert r.exit_code == 0, r.stderr
    assert emu.model_sha() == FACTORY_HASH
    listing = emu.listing()
    assert listing["active"]["slot"] == -1 and listing["previous"] == ""
    assert slot_states(listing)[0] == "valid"  # the slot keeps its image
    assert emu.config("model") == {"model": "beta_biomarker"}
    r = emu.cli("model", "rollback")
    assert r.exit_code == 1 and "NO_PREVIOUS" in r.stderr

    # every step is a `model` event in the log: activate, confirm, rollback
    events = emu.cli_json("log", "--since", "0")["events"]
    model_events = [e for e in events if e["type"] == "model"]
    assert len(model_events) >= 3, events


def test_unconfirmed_test_run_does_not_survive_a_reset(emu: Emu, images: dict[str, Any]) -> None:
    _push(emu, images["model"], "--activate")
    assert emu.model_sha() == images["model_sha"]
    r = emu.cli("--json", "reset", "--wait")
    assert r.exit_code == 0, r.stderr
    assert emu.model_sha() == FACTORY_HASH
    listing = emu.listing()
    assert listing["active"]["slot"] == -1 and "test" not in listing
    assert slot_states(listing)[0] == "valid"
    # and the slot can be tried again
    assert emu.cli("model", "activate", "a").exit_code == 0
    assert emu.model_sha() == images["model_sha"]


def _afe_port(emu: Emu) -> int:
    return int(emu.runner.afe_url.rsplit(":", 1)[1])


def test_test_run_is_confirmed_after_healthy_steps(emu: Emu, images: dict[str, Any]) -> None:
    _push(emu, images["model"])
    r = emu.cli("model", "activate", "a", "--confirm-after", "20")
    assert r.exit_code == 0, r.stderr
    rng = np.random.default_rng(5)
    x = rng.normal(0, 300, 3000).astype(np.int16)  # 3 s at 1 kHz: 150 steps of 20 samples
    with socket.create_connection(("127.0.0.1", _afe_port(emu))) as afe:
        time.sleep(0.2)  # QEMU registers the client from its main loop
        with emu.device() as dev:
            client.therapy(dev, "start")
            afe.sendall(sc.afe_stream(x, 1000))
            deadline = time.monotonic() + 60
            listing: dict[str, Any] = {}
            while time.monotonic() < deadline:
                listing = model_list(dev)  # (one client at a time on QEMU's TCP port)
                if "test" not in listing:
                    break
                time.sleep(0.3)
            st = client.status(dev)
            client.therapy(dev, "stop")
    assert "test" not in listing, listing
    assert listing["active"]["slot"] == 0 and listing["previous"] == "beta_biomarker"
    assert st["model"]["inferences"] >= 1 and st["model"]["inference_errors"] == 0
    assert hexed(st["model"]["sha256"]) == images["model_sha"]
    events = emu.cli_json("log", "--since", "0")["events"]
    assert any(e["type"] == "model" for e in events)
    # confirmed automatically = persisted: it runs again after a power cycle
    emu.restart()
    assert emu.model_sha() == images["model_sha"]
    assert emu.config("model") == {"model": "slot_a"}


def test_config_and_confirmed_model_survive_a_qemu_restart(
    emu: Emu, images: dict[str, Any]
) -> None:
    _push(emu, images["model"], "--activate", "--confirm")
    r = emu.cli("config", "set", "policy=adaptive", "adaptive_threshold_upper=16384")
    assert r.exit_code == 0, r.stderr
    before = emu.config("policy", "adaptive_threshold_upper", "model")
    assert before == {"policy": "adaptive", "adaptive_threshold_upper": 16384, "model": "slot_a"}
    info = emu.restart()
    assert info.reset_reason == "power_on"
    assert info.model_extra is not None
    assert info.model_extra["storage"]["config"] == "restored"
    assert emu.config("policy", "adaptive_threshold_upper", "model") == before
    assert emu.model_sha() == images["model_sha"]
    listing = emu.listing()
    assert listing["active"]["slot"] == 0 and listing["previous"] == "beta_biomarker"


def test_upload_refused_while_therapy_runs(emu: Emu, images: dict[str, Any]) -> None:
    assert emu.cli("therapy", "start").exit_code == 0
    r = emu.cli("model", "push", str(images["model"]))
    assert r.exit_code == 1 and "EBUSY" in r.stderr, r.stderr
    assert emu.cli("therapy", "pause").exit_code == 0
    _push(emu, images["model"])  # paused: allowed
    assert emu.model_sha() == FACTORY_HASH


# --- bad images: refused, the running model untouched --------------------------------------

BAD_IMAGES = {
    # kind: (image group rc, the slot's validation error, or None if refused at the header)
    "bad_hash": (24, "image: hash"),
    "truncated": (4, "image: format"),
    "bad_magic": (23, None),
    "oversized": (30, None),
    "unsigned": (5, "image: unsigned"),
    "wrong_key": (5, "image: key"),
    "not_a_model": (29, "load: BAD_IDENTIFIER"),
    "contract": (29, "contract: input_size (16)"),
    "raw_contract": (29, "contract: input_size (368)"),
    "arena": (29, "arena: needs"),
}


@pytest.mark.parametrize("kind", list(BAD_IMAGES))
def test_bad_image_is_refused(shared_emu: Emu, images: dict[str, Any], kind: str) -> None:
    rc, error = BAD_IMAGES[kind]
    running = shared_emu.model_sha()
    with shared_emu.device() as dev, pytest.raises(DeviceError) as caught:
        upload(dev, images["bad"][kind], image=1)
    assert (caught.value.group, caught.value.rc) == (1, rc), caught.value
    listing = shared_emu.listing()
    assert "valid" not in slot_states(listing).values(), listing
    if error is not None:
        errors = [e["error"] for e in listing["slots"]]
        assert any(e.startswith(error) for e in errors), (error, listing["slots"])
    assert listing["active"]["slot"] == -1
    assert shared_emu.model_sha() == running == FACTORY_HASH
    r = shared_emu.cli("model", "activate", "a")
    assert r.exit_code == 1  # nothing valid to activate
    assert shared_emu.model_sha() == FACTORY_HASH


def test_cli_push_of_an_invalid_model_names_the_reason(
    shared_emu: Emu, images: dict[str, Any]
) -> None:
    """docs/cli.md: "an invalid model is exit 1 with the device's reason"."""
    r = shared_emu.cli("model", "push", str(MLP))
    assert r.exit_code == 1
    assert "contract" in r.stderr, r.stderr
    assert shared_emu.model_sha() == FACTORY_HASH


def test_cli_push_signed_with_another_key_is_refused(
    shared_emu: Emu, images: dict[str, Any]
) -> None:
    r = shared_emu.cli("model", "push", str(images["model"]), "--key", str(OTHER_KEY))
    assert r.exit_code == 1 and "INVALID_TLV" in r.stderr, r.stderr
    assert shared_emu.model_sha() == FACTORY_HASH


def test_good_push_after_the_bad_ones(shared_emu: Emu, images: dict[str, Any]) -> None:
    pushed = _push(shared_emu, images["model"])
    assert pushed["state"] == "valid" and hexed(pushed["model_sha256"]) == images["model_sha"]
    assert shared_emu.model_sha() == FACTORY_HASH  # uploaded, not activated


# --- smpclient, unchanged, on a pty ----------------------------------------------------------


def test_smpclient_uploads_a_model_image_over_the_pty(
    firmware_elf: Path, tmp_path: Path, images: dict[str, Any]
) -> None:
    emu = Emu.create(firmware_elf, tmp_path, cli_pty=True)
    emu.boot()
    try:
        port = emu.runner.cli_url
        assert port.startswith("/dev/")
        image = images["good"]
        digest = bytes.fromhex(sign_hash(image))

        async def session() -> tuple[list[int], Any, Any]:
            async with SMPClient(SMPSerialTransport(), port, timeout_s=5.0) as smp:
                offsets = [off async for off in smp.upload(image, slot=1)]
                states = await smp.request(ImageStatesRead())
                assert success(states), states
                test = await smp.request(ImageStatesWrite(hash=digest, confirm=False))
                assert success(test), test
                return offsets, states, test

        offsets, states, _ = asyncio.run(session())
        assert offsets[-1] == len(image) and len(offsets) >= 2
        model_entries = [s for s in states.images if s.image == 1]
        assert [bytes(s.hash) for s in model_entries if s.hash] == [digest], states
        assert model_entries[0].bootable
        # `image test <hash>` started a test run of that slot
        assert emu.model_sha() == images["model_sha"]
        listing = emu.listing()
        assert listing["test"]["slot"] == listing["active"]["slot"] == 0
    finally:
        emu.stop()


def sign_hash(image: bytes) -> str:
    """The image hash TLV (what imgtool prints and `image list` shows)."""
    return parse_image(image).hash.hex()
