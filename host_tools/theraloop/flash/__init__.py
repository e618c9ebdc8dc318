"""`theraloop flash`: program a device through a debug probe (pyOCD) or a GDB server."""
