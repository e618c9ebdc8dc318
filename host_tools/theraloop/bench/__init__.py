"""`theraloop bench`: the inference engine measured on the emulated Cortex-M4.

- `sizes`: flash and RAM of a firmware image (ELF program/section headers) and the
  engine's share of the flash (GNU ld map file with `--cref`);
- `measure`: instructions per inference under QEMU `-icount` with SysTick, calibrated
  with a loop of known instruction count;
- `cli`: the command.

The method is documented in docs/engine.md ("Benchmark method").
"""
