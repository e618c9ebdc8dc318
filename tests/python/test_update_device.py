"""Model and firmware update commands against the real SMP server (`theraloop-host --pty`).

Images are signed with the tree's development key (keys/dev-ed25519.pem), whose public
half is built into the firmware.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.errors import ExitCode
from theraloop.update.client import (
    IMG_GROUP,
    MODEL_IMAGE,
    ImgCommand,
    image_states,
    message_budget,
    model_list,
    upload,
    upload_request,
)
from theraloop.update.image import SigningOptions, prepare_model_image

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models/beta_biomarker/beta_biomarker.tflite"


@pytest.fixture
def cli(fresh_host_device):
    runner = CliRunner()

    def run(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(
            main, ["--port", fresh_host_device.port, "--timeout", "5", "--json", *args]
        )
        if ok:
            assert result.exit_code == 0, (result.stdout, result.stderr)
            return json.loads(result.stdout)
        return result

    return run


def _slot(listing: dict[str, Any], slot: int) -> dict[str, Any]:
    return next(e for e in listing["slots"] if e["slot"] == slot)


def test_push_lists_the_model_as_valid(cli, tmp_path: Path) -> None:
    pushed = cli("model", "push", str(MODEL), "--version", "1.4.0")
    assert pushed["state"] == "valid" and pushed["version"] == "1.4.0+0"
    assert pushed["upload"]["bytes"] == pushed["bytes"] and pushed["upload"]["resumed_from"] == 0
    listing = cli("model", "list")
    entry = _slot(listing, pushed["slot"])
    assert entry["state"] == "valid" and entry["hash"] == pushed["hash"]
    assert entry["model_sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert entry["version"].startswith("1.4.0")
    assert listing["active"]["slot"] == -1  # still the factory model
    assert any(f["name"] == "beta_biomarker" for f in listing["factory"])


def test_activate_confirm_rollback(cli) -> None:
    first = cli("model", "push", str(MODEL), "--version", "1.0.0")
    active = cli("model", "activate", "--confirm-after", "50")
    assert active["active"]["slot"] == first["slot"]
    assert active["test"]["slot"] == first["slot"] and active["test"]["confirm_after"] == 50
    confirmed = cli("model", "confirm")
    assert confirmed["active"]["slot"] == first["slot"] and "test" not in confirmed
    second = cli("model", "push", str(MODEL), "--version", "1.1.0", "--activate", "--confirm")
    assert second["slot"] != first["slot"]
    assert second["model"]["active"]["slot"] == second["slot"]
    back = cli("model", "rollback")
    assert back["active"]["slot"] == first["slot"]
    factory = cli("model", "rollback", "--factory")
    assert factory["active"]["slot"] == -1


def test_activate_by_name_and_errors(cli) -> None:
    pushed = cli("model", "push", str(MODEL))
    name = "ab"[pushed["slot"]]
    assert cli("model", "activate", name, "--confirm")["active"]["slot"] == pushed["slot"]
    empty = "ab"[1 - pushed["slot"]]
    refused = cli("model", "activate", empty, ok=False)
    assert refused.exit_code == ExitCode.DEVICE_ERROR
    assert refused.stderr.startswith("theraloop: error: device returned error ")
    assert refused.stderr.count("\n") == 1


def test_push_wrong_key_is_refused_by_the_device(cli, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    imgtool = str(Path(sys.executable).parent / "imgtool")
    subprocess.run([imgtool, "keygen", "-t", "ed25519", "-k", str(other)], check=True)
    result = cli("model", "push", str(MODEL), "--key", str(other), ok=False)
    assert result.exit_code == ExitCode.DEVICE_ERROR, result.stderr
    assert result.stderr.startswith("theraloop: error: ") and result.stderr.count("\n") == 1


def test_firmware_state_lists_both_images(cli) -> None:
    cli("model", "push", str(MODEL))
    states = cli("firmware", "state")["images"]
    by_key = {(s["image"], s["slot"]): s for s in states}
    # theraloop-host runs without a bootloader: fw_primary holds no image, so image 0 has
    # no slot to report (tests/system/test_qemu_fw_update.py covers it on the emulator)
    assert (0, 0) not in by_key
    assert any(image == 1 for image, _ in by_key)


def test_upload_resumes_an_interrupted_upload(fresh_host_device, tmp_path: Path) -> None:
    # the same model as another version: a new image (hash) that fits the default pipeline
    image = prepare_model_image(MODEL, SigningOptions(version="2.0.0"), tmp_path)
    with fresh_host_device.device(timeout=5.0) as dev:
        budget = message_budget(dev)
        digest = hashlib.sha256(image.data).digest()
        first = {"image": MODEL_IMAGE, "len": image.size, "sha": digest}
        # a first chunk shorter than upload()'s, so its answer tells a resume apart
        fields, n = upload_request(image.data, 0, budget // 2, first)
        answer = dev.raw(IMG_GROUP, ImgCommand.UPLOAD, fields, write=True)
        assert answer["off"] == n
        assert n < image.size  # the upload is unfinished
        # a new upload of the same file continues where the device stopped
        result = upload(dev, image.data, image=MODEL_IMAGE)
        assert result.resumed_from == n and result.size == image.size
        states = image_states(dev)
        assert any(s.image == MODEL_IMAGE and s.hash == image.hash for s in states)
        listing = model_list(dev)
        assert any(e.get("hash") == image.hash and e["state"] == "valid" for e in listing["slots"])


def test_bench_upload_reports_rates(cli) -> None:
    data = cli("bench", "upload", "--file", str(MODEL), "--baud", "115200")
    assert data["accepted"] is True and data["bytes"] > len(MODEL.read_bytes())
    assert data["measured_bytes_per_s"] > 0 and data["seconds"] > 0
    theory = data["theory"]
    assert theory["baud"] == 115200 and theory["line_bytes_per_s"] == 11520
    assert 0 < theory["payload_bytes_per_s"] < 11520 * 0.75


def test_bench_verify_reads_the_bootloader_cycles(firmware_elf: Path) -> None:
    result = CliRunner().invoke(main, ["bench", "verify", "--elf", str(firmware_elf), "--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["area"] == "fw_primary" and data["result"] == "ok"
    assert data["sha256_cycles"] > 0 and data["ed25519_cycles"] > 0
    assert data["bytes"] > 0 and data["app_version"] is not None
