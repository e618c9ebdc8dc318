"""The software-in-the-loop library loads and runs on virtual time."""

from theraloop import sil


def test_virtual_clock_only_moves_when_advanced() -> None:
    lib = sil.library()
    t0 = lib.tl_platform_uptime_ms()
    lib.tl_host_advance_ms(250)
    lib.tl_host_advance_ms(750)
    assert lib.tl_platform_uptime_ms() - t0 == 1000
