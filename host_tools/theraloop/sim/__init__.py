"""Emulators that run theraloop firmware (QEMU today)."""
