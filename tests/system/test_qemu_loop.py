"""The control loop on the emulated device, end to end: samples fed over USART2, the
stimulator frames read from USART3, and both compared with the software-in-the-loop run of
the same bytes, frame for frame (byte-identical, sequence numbers included), for the
adaptive and the responsive policy; management over SMP; bad configuration and garbage on
both links.

Needs the firmware (THERALOOP_ELF) and the host build (THERALOOP_HOST_BUILD) built from the
same tree, with the factory models (models/beta_biomarker, models/seizure_detector), and
the recordings in ../shared/data.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from theraloop.cli import main
from theraloop.errors import DeviceError
from theraloop.links.stim import Status, StimStatus, decode_commands, encode_status
from theraloop.loop import client
from theraloop.loop import scenarios as sc
from theraloop.loop.factory import preset_from_contract, preset_settings
from theraloop.loop.sil import SilLoop
from theraloop.mgmt import TheraloopErr
from theraloop.model.device_engine import DeviceEngine

pytestmark = pytest.mark.qemu

FEED_TIMEOUT_S = 120.0
ROOT = Path(__file__).resolve().parents[2]


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


class _Collector:
    """Everything the device sends on a link, read on a thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.data = bytearray()
        self._sock = sock
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._sock.settimeout(0.2)
        while True:
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.data.extend(chunk)

    def send(self, data: bytes) -> None:
        """Bytes to the device on the same link (USART3 RX: the stimulator's reports)."""
        self._sock.sendall(data)

    def wait_for(self, n: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.data) >= n:
                    return bytes(self.data)
            time.sleep(0.05)
        with self._lock:
            return bytes(self.data)


@contextmanager
def _links(qdev) -> Iterator[tuple[socket.socket, _Collector]]:
    """The AFE socket to write to and the stimulator socket being read (connected before
    anything is configured, so that no frame is lost)."""
    stim = socket.create_connection(("127.0.0.1", _port(qdev.stim_url)))
    afe = socket.create_connection(("127.0.0.1", _port(qdev.afe_url)))
    collector = _Collector(stim)
    time.sleep(0.2)  # QEMU registers the clients from its main loop
    try:
        yield afe, collector
    finally:
        afe.close()
        stim.close()


def _sil(settings: dict[str, int | str], stream: bytes) -> bytes:
    loop = SilLoop()
    out = loop.configure(settings).stim
    assert loop.command("start") == 0
    return out + loop.feed_bytes(stream).stim


def _device(qdev, settings: dict[str, int | str], stream: bytes, expect: int) -> bytes:
    with _links(qdev) as (afe, stim), qdev.device(timeout=5.0) as dev:
        answer = client.config_set(dev, settings)
        assert answer["model_state"] == "bound", answer
        client.therapy(dev, "start")
        sender = threading.Thread(target=afe.sendall, args=(stream,), daemon=True)
        sender.start()
        got = stim.wait_for(expect, FEED_TIMEOUT_S)
        sender.join(5)
        st = client.status(dev)
    assert st["afe"]["blocks"] > 0 and st["afe"]["bad_crc"] == 0 and st["afe"]["gaps"] == 0
    assert st["timing"]["overruns"] == 0
    return got


def _wait_status(dev, done, timeout: float = 30.0) -> dict:
    """Poll `status` until done(status) (the emulated UART takes its time)."""
    deadline = time.monotonic() + timeout
    while True:
        st = client.status(dev)
        if done(st) or time.monotonic() > deadline:
            return st
        time.sleep(0.2)


def _require_model(qdev, name: str) -> None:
    with qdev.device() as dev:
        try:
            client.config_set(dev, {"model": name})
            return
        except DeviceError as exc:
            problem = str(exc)
    pytest.fail(
        f"the firmware has no factory model {name!r} ({problem}): train it "
        f"(theraloop model train {name}) and rebuild",
        pytrace=False,
    )


def _require_data() -> None:
    if not sc.data_dir().is_dir():
        pytest.skip(f"recordings not found in {sc.data_dir()} (see ../shared/data/README.md)")


def test_responsive_policy_matches_sil_frame_for_frame(fresh_qemu_device):
    _require_data()
    _require_model(fresh_qemu_device, sc.SEIZURE)
    x, mask = sc.bonn_splice()
    stream = sc.afe_stream(x, 250, block=25)
    settings = sc.responsive_settings()
    want = _sil(settings, stream)
    got = _device(fresh_qemu_device, settings, stream, len(want))
    assert got[: len(want)] == want, _first_difference(got, want)
    # and it did what the policy is for: bursts inside the ictal segment only
    cmds = decode_commands(want)
    burst = [c for c in cmds if c.enabled and c.pulse_width_us == settings["burst_pulse_width_us"]]
    assert burst, "no burst during the seizure"
    ictal_start_ms = int(np.argmax(mask)) * 4
    assert all(c.seq > 0 for c in burst)
    first = cmds.index(burst[0])
    hop = int(settings.get("hop_samples") or sc.contract(sc.SEIZURE)["step"]["hop_samples"])
    assert first * hop * 4 > ictal_start_ms - 2 * hop * 4


def test_adaptive_policy_matches_sil_frame_for_frame(fresh_qemu_device):
    _require_data()
    _require_model(fresh_qemu_device, sc.BETA)
    x = sc.stn_samples()
    stream = sc.afe_stream(x, 1000, block=20)
    settings = sc.adaptive_settings()
    want = _sil(settings, stream)
    got = _device(fresh_qemu_device, settings, stream, len(want))
    assert got[: len(want)] == want, _first_difference(got, want)
    amps = {c.amplitude_ua for c in decode_commands(want) if c.enabled}
    assert len(amps) > 2, "the adaptive policy never moved the amplitude"


def test_uploaded_ram_model_matches_sil_frame_for_frame(fresh_qemu_device):
    """A model uploaded and loaded with the nn group runs in the loop as `model=ram`."""
    _require_data()
    path = ROOT / "models" / sc.SEIZURE / f"{sc.SEIZURE}.tflite"
    if not path.is_file():
        pytest.fail(f"{path} missing: train it (theraloop model train {sc.SEIZURE})")
    blob = path.read_bytes()
    contract = sc.contract(sc.SEIZURE)
    settings = preset_settings(preset_from_contract(contract, sc.SEIZURE))
    settings.update({k: v for k, v in sc.responsive_settings(contract).items() if k != "model"})
    settings["model"] = "ram"
    with fresh_qemu_device.device(timeout=10.0) as dev:
        DeviceEngine(dev).load_model(blob)
    x, _ = sc.bonn_splice(segment=2)
    stream = sc.afe_stream(x[:6000], 250, block=43)
    SilLoop.load_ram_model(blob)
    want = _sil(settings, stream)
    got = _device(fresh_qemu_device, settings, stream, len(want))
    assert got[: len(want)] == want, _first_difference(got, want)


def _first_difference(got: bytes, want: bytes) -> str:
    a = decode_commands(got)
    b = decode_commands(want)
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"frame {i}: device {x} != SIL {y} ({len(a)} vs {len(b)} frames)"
    return f"device sent {len(a)} frames ({len(got)} bytes), SIL {len(b)} ({len(want)} bytes)"


# --- management and robustness -----------------------------------------------------------


@pytest.fixture
def cli(qemu_device):
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(main, ["--port", qemu_device.cli_url, "--timeout", "3", *args])

    return run


def test_cli_against_the_emulated_device(qemu_device, cli):
    r = cli("config", "set", "policy=open_loop", "open_loop_amplitude_ua=1200", "dropout_ms=60000")
    assert r.exit_code == 0, r.stderr
    r = cli("--json", "config", "get", "policy", "open_loop_amplitude_ua", "afe_rate_hz")
    assert json.loads(r.stdout) == {
        "policy": "open_loop",
        "open_loop_amplitude_ua": 1200,
        "afe_rate_hz": json.loads(r.stdout)["afe_rate_hz"],
    }
    r = cli("--json", "config", "get")
    values = json.loads(r.stdout)
    assert len(values) >= 70 and values["charge_density_max_cuc_cm2"] == 3000
    # unsafe: refused with the validator's reason, nothing changed
    r = cli("config", "set", "open_loop_amplitude_ua=1000", "amplitude_max_ua=25000")
    assert r.exit_code == 1
    assert "THERAPY_CHARGE" in r.stderr and "charge" in r.stderr
    r = cli("--json", "config", "get", "open_loop_amplitude_ua", "amplitude_max_ua")
    assert json.loads(r.stdout) == {"open_loop_amplitude_ua": 1200, "amplitude_max_ua": 3000}
    # therapy commands and status
    assert cli("therapy", "start").exit_code == 0
    r = cli("--json", "status")
    st = json.loads(r.stdout)
    assert st["therapy"]["state"] == "running"
    assert set(st) >= {"therapy", "model", "timing", "sensing", "afe", "stim", "uptime_ms"}
    assert set(st["timing"]) >= {"features", "inference", "policy", "supervisor", "step"}
    assert cli("therapy", "pause").exit_code == 0
    r = cli("therapy", "pause")
    assert r.exit_code == 1 and "STATE" in r.stderr
    r = cli("status")
    assert r.exit_code == 0 and "paused" in r.stdout and "stage" in r.stdout
    assert cli("therapy", "resume").exit_code == 0
    assert cli("therapy", "stop").exit_code == 0
    # the event log and the telemetry stream
    r = cli("--json", "log", "--since", "0")
    events = json.loads(r.stdout)["events"]
    kinds = [e["type"] for e in events]
    assert "config_refused" in kinds and "command" in kinds and "config" in kinds
    r = cli("stream", "--json", "--since", "0")
    assert r.exit_code == 0, r.stderr
    r = cli("stream", "--csv", "--count", "1")
    assert r.exit_code == 0 and r.stdout.startswith("seq,time_ms,step")


def test_garbage_and_bad_configuration_leave_the_device_safe(fresh_qemu_device):
    qdev = fresh_qemu_device
    rng = np.random.default_rng(7)
    with _links(qdev) as (afe, stim), qdev.device(timeout=5.0) as dev:
        client.config_set(
            dev,
            {"policy": "open_loop", "model": "none", "afe_rate_hz": 1000, "afe_channels": 1,
             "hop_samples": 20, "dropout_ms": 60000},
        )  # fmt: skip
        client.therapy(dev, "start")
        # garbage (with stray sync bytes) around good frames on the AFE link
        junk = rng.integers(0, 256, 20000, dtype=np.uint8).tobytes() + bytes([0xA5, 0x5A]) * 300
        x = (rng.normal(0, 300, 4000)).astype(np.int16)
        afe.sendall(junk + sc.afe_stream(x, 1000) + junk[:3000])
        sent = len(junk) + len(sc.afe_stream(x, 1000)) + 3000
        st = _wait_status(dev, lambda s: s["afe"]["bytes"] >= sent)
        assert st["afe"]["discarded"] > 0 and st["afe"]["blocks"] >= 190
        assert st["therapy"]["state"] == "running" and st["therapy"]["mode"] == "policy"
        assert st["therapy"]["amplitude_ua"] <= 3000
        # bad values are refused with a specific code and a reason, and change nothing
        for bad, code in (
            ({"amplitude_max_ua": 25000}, TheraloopErr.THERAPY_CHARGE),
            ({"charge_density_max_cuc_cm2": 4000}, TheraloopErr.THERAPY_RANGE),
            ({"hop_samples": 0}, TheraloopErr.LOOP_RANGE),
            ({"afe_rate_hz": 300}, TheraloopErr.LOOP_RANGE),
            ({"policy": "maximal"}, TheraloopErr.BAD_VALUE),
            ({"no_such": 1}, TheraloopErr.UNKNOWN_KEY),
            ({"window_hops": 64, "hop_samples": 1000}, TheraloopErr.LOOP_FEATURES),
        ):
            with pytest.raises(DeviceError) as caught:
                client.config_set(dev, bad)
            assert caught.value.rc == code, (bad, caught.value)
            assert caught.value.reason
        assert client.config_get(dev, ["amplitude_max_ua", "hop_samples"]) == {
            "amplitude_max_ua": 3000,
            "hop_samples": 20,
        }
        # garbage on the stimulator link is discarded; a hardware fault report from the
        # stimulator turns stimulation off at once (link-safe state)
        stim.send(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        stim.send(encode_status(StimStatus(ack_seq=1, status=Status.HW_FAULT)))
        # (the two links are independent UARTs: let the report arrive before more samples)
        _wait_status(dev, lambda s: s["stim"]["device_faults"] >= 1)
        afe.sendall(sc.afe_stream((rng.normal(0, 300, 400)).astype(np.int16), 1000, start_seq=200))
        st = _wait_status(dev, lambda s: s["therapy"]["mode"] == "link_safe")
        assert st["stim"]["rx_discarded"] > 0 and st["stim"]["device_faults"] >= 1
        assert st["therapy"]["mode"] == "link_safe", st["therapy"]
        assert not st["therapy"]["enabled"] and st["therapy"]["amplitude_ua"] == 0
        assert dev.echo("safe and answering") == "safe and answering"
        last = decode_commands(stim.wait_for(0, 0))[-1]
        assert not last.enabled and last.amplitude_ua == 0


def test_bench_loop_reports_cycles_per_stage(firmware_elf):
    _require_data()
    r = CliRunner().invoke(
        main,
        ["bench-loop", "--elf", str(firmware_elf), "--policy", "adaptive", "--seconds", "2",
         "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.stderr
    (res,) = json.loads(r.stdout)["results"]
    stages = res["stages"]
    assert stages["step"]["count"] == res["steps"] >= 90
    for name in ("features", "inference", "policy", "supervisor", "step"):
        s = stages[name]["instructions"]
        assert 0 < s["min"] <= s["mean"] <= s["max"], (name, s)
    # the features of 20 samples alone take thousands of instructions; a step is well
    # inside its 20 ms hop on a 168 MHz core
    assert stages["features"]["instructions"]["mean"] > 5000
    assert 0 < res["cpu_share_of_hop"] < 0.05
