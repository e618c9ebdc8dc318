"""Safety interlock of the nn group: no model load, invoke or benchmark while therapy runs.

A benchmark holds the CPU for as long as it was asked to and a load replaces the RAM model
the control loop may be running from, so both must wait until therapy is stopped.
"""

import pytest

from theraloop.device import DeviceError
from theraloop.loop import client

pytestmark = pytest.mark.qemu

NN_GROUP = 65
NN_LOAD, NN_INVOKE, NN_BENCH = 2, 3, 4
ERR_BUSY = 10


def test_load_invoke_bench_refused_while_therapy_is_on(fresh_qemu_device) -> None:
    with fresh_qemu_device.device(timeout=3.0) as dev:
        client.config_set(dev, {"policy": "open_loop"})
        client.therapy(dev, "start")
        for cmd, payload in ((NN_LOAD, {}), (NN_INVOKE, {"in": []}), (NN_BENCH, {"n": 1})):
            with pytest.raises(DeviceError) as err:
                dev.raw(NN_GROUP, cmd, payload, write=True)
            assert (err.value.group, err.value.rc) == (NN_GROUP, ERR_BUSY)
        client.therapy(dev, "pause")
        with pytest.raises(DeviceError) as err:
            dev.raw(NN_GROUP, NN_BENCH, {"n": 1}, write=True)
        assert err.value.rc == ERR_BUSY
        client.therapy(dev, "stop")
        # with therapy off the group answers again (here: nothing uploaded to load)
        with pytest.raises(DeviceError) as err:
            dev.raw(NN_GROUP, NN_LOAD, {}, write=True)
        assert err.value.rc != ERR_BUSY
