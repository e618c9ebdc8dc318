"""`theraloop bench`: instructions per inference, arena and flash on the emulated M4."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click
import numpy as np
from tqdm import tqdm

from theraloop.bench import update as update_bench
from theraloop.bench.measure import AGREEMENT_LIMIT, VariantResult, bench_inputs, run_variant
from theraloop.bench.sizes import (
    EngineSize,
    FirmwareSize,
    LinkMap,
    engine_size,
    firmware_size,
    load_map,
)
from theraloop.bench.tflm import ENGINE_FLASH_TARGET_BYTES, TARGET_RATIO, TFLM
from theraloop.bench.trace import TraceCount, by_object, trace_variant
from theraloop.clikit import CliState, json_option, pass_state
from theraloop.errors import UsageError
from theraloop.paths import default_elf, repo_root

PORTABLE_ELF_NAME: Final = "theraloop_portable.elf"
VARIANT_LABELS: Final = {"dsp": "DSP kernels", "portable": "portable C"}


@dataclass(frozen=True)
class Variant:
    key: str  # "dsp" or "portable"
    elf: Path
    firmware: FirmwareSize
    engine: EngineSize
    link_map: LinkMap


def _default_models() -> list[Path]:
    models = sorted((repo_root() / "models/bench").glob("*.tflite"))
    if not models:
        raise UsageError("no models in models/bench/; give --model FILE")
    return models


def _sizes(key: str, elf: Path) -> Variant:
    if not elf.is_file():
        hint = (
            " (build it with `make firmware`)"
            if key == "dsp"
            else (
                " (built with the firmware unless TL_STM32F4_NN_PORTABLE_IMAGE=OFF; "
                "or use --variant dsp)"
            )
        )
        raise UsageError(f"firmware image {elf} not found{hint}")
    lm = load_map(elf.with_suffix(".map"))
    return Variant(
        key=key,
        elf=elf,
        firmware=firmware_size(elf, lm.regions.get("RAM")),
        engine=engine_size(lm, repo_root(), str(elf.with_suffix(".map"))),
        link_map=lm,
    )


def _reference_worker(items: list[tuple[bytes, list[np.ndarray]]]) -> list[Any]:
    from theraloop.tflite_reference import Reference, TflmError

    out: list[Any] = []
    for data, inputs in items:
        try:
            out.append(Reference(data).invoke(*inputs))
        except TflmError:
            out.append(None)
    return out


def _reference_outputs(models: list[Path]) -> dict[Path, list[np.ndarray]]:
    """tflite-micro's outputs on each model's bench input (in a child process: TFLM
    trusts the file, and a crash must not take the tool down)."""
    items = [(p.read_bytes(), bench_inputs(p.read_bytes())) for p in models]
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            outs = pool.submit(_reference_worker, items).result()
    except BrokenProcessPool:
        return {}
    return {p: o for p, o in zip(models, outs, strict=True) if o is not None}


def _per_model(
    variants: list[Variant],
    results: dict[str, VariantResult],
    traces: dict[str, dict[Path, TraceCount]],
) -> list[Any]:
    first = results[variants[0].key]
    rows = []
    for i, m in enumerate(first.models):
        timings = {v.key: results[v.key].models[i] for v in variants}
        tflm = TFLM.get(m.name)
        row: dict[str, Any] = {
            "name": m.name,
            "file": m.file,
            "sha256": m.sha256,
            "model_bytes": m.model_bytes,
            "macs": m.macs,
            "mac_bound": m.mac_bound,
            "arena_bytes": m.arena_bytes,
            "instructions": {k: round(t.instructions, 1) for k, t in timings.items()},
            "min_instructions": {k: round(t.min_instructions, 1) for k, t in timings.items()},
            "max_instructions": {k: round(t.max_instructions, 1) for k, t in timings.items()},
            "ratio_to_mac_bound": {
                k: (round(r, 3) if (r := t.ratio_to_mac_bound) is not None else None)
                for k, t in timings.items()
            },
            "runs": {k: t.runs for k, t in timings.items()},
            "interrupts_masked": {k: t.interrupts_masked for k, t in timings.items()},
            "output_matches_reference": {k: t.output_matches_reference for k, t in timings.items()},
            "arena_bytes_by_variant": {k: t.arena_bytes for k, t in timings.items()},
            "tflm": tflm.to_json() if tflm is not None else None,
        }
        if traces:
            exact = {k: traces[k][Path(m.file)].instructions for k in timings}
            row["trace_instructions"] = exact
            row["trace_difference"] = {
                k: round(timings[k].instructions - exact[k], 2) for k in timings
            }
            row["trace_by_object"] = {
                v.key: by_object(traces[v.key][Path(m.file)].pcs, v.link_map) for v in variants
            }
        if tflm is not None:
            row["ratio_to_tflm_cmsis_nn"] = {
                k: round(t.instructions / tflm.cmsis_nn_instructions, 3) for k, t in timings.items()
            }
            row["targets_met"] = {
                "instructions": {
                    k: t.instructions <= TARGET_RATIO * tflm.cmsis_nn_instructions
                    for k, t in timings.items()
                },
                "arena": m.arena_bytes <= tflm.smallest_arena,
            }
        rows.append(row)
    return rows


def _human(data: dict[str, Any], variants: list[Variant]) -> str:
    method = data["method"]
    lines = [
        f"theraloop bench: QEMU {method['machine']} (Cortex-M4F), -icount shift="
        f"{method['icount_shift']} (1 instruction = {2 ** method['icount_shift']} ns of "
        f"virtual time), SysTick at {method['tick_hz']:,} Hz",
    ]
    for v in variants:
        cal = data["variants"][v.key]["calibration"]
        lines.append(
            f"  calibration ({VARIANT_LABELS[v.key]}): harness overhead "
            f"{cal['overhead_instructions']:.2f} instructions; the two loops agree within "
            f"{cal['agreement_instructions']:.2f} (limit {AGREEMENT_LIMIT}), "
            f"slope {cal['slope_per_iteration']:.4f} instructions/iteration (exact: 2)"
        )
    lines += ["", "instructions per inference (tl_nn_invoke), and x the MAC bound (MACs / 2):"]
    head = f"{'model':<22}{'MACs':>9}{'bound':>9}"
    for v in variants:
        head += f"{VARIANT_LABELS[v.key]:>24}"
    head += f"{'TFLM+CMSIS-NN':>15}{'TFLM ref':>11}"
    lines.append(head)
    for row in data["models"]:
        line = f"{row['name']:<22}{row['macs']:>9,}{row['mac_bound']:>9,.0f}"
        for v in variants:
            ins = row["instructions"][v.key]
            ratio = row["ratio_to_mac_bound"][v.key]
            cell = f"{ins:,.0f}" + (f" ({ratio:.2f}x)" if ratio is not None else "")
            line += f"{cell:>24}"
        tflm = row["tflm"]
        if tflm is not None:
            line += f"{tflm['cmsis_nn_instructions']:>15,}{tflm['reference_instructions']:>11,}"
        lines.append(line)
        if tflm is not None:
            rel = ", ".join(
                f"{VARIANT_LABELS[k]} {r:.2f}x "
                f"({'met' if row['targets_met']['instructions'][k] else 'above'} "
                f"the {TARGET_RATIO}x target)"
                for k, r in row["ratio_to_tflm_cmsis_nn"].items()
            )
            lines.append(f"{'':<22}vs TFLM+CMSIS-NN: {rel}")
    if any("trace_instructions" in row for row in data["models"]):
        lines += ["", "cross-check: exact instruction counts from a QEMU execution trace:"]
        for row in data["models"]:
            cells = ", ".join(
                f"{VARIANT_LABELS[k]} {n:,} (bench {row['instructions'][k]:,.1f})"
                for k, n in row["trace_instructions"].items()
            )
            lines.append(f"  {row['name']:<20}{cells}")
        verdict = "agree" if data["targets"]["cross_check"] else "DISAGREE"
        lines.append(f"  SysTick and trace {verdict} within {AGREEMENT_LIMIT} instructions")
        lines.append("  where the time goes (traced instructions per source file):")
        for row in data["models"]:
            for k, split in row["trace_by_object"].items():
                total = sum(split.values())
                top = ", ".join(
                    f"{name} {n:,} ({100 * n / total:.0f}%)" for name, n in list(split.items())[:6]
                )
                lines.append(f"    {row['name']} ({VARIANT_LABELS[k]}): {top}")
    lines += ["", "arena bytes (exact, the engine's planner on the device):"]
    for row in data["models"]:
        tflm = row["tflm"]
        text = f"  {row['name']:<20}{row['arena_bytes']:>7,}"
        if tflm is not None:
            verdict = "met" if row["targets_met"]["arena"] else "MISSED"
            text += (
                f"   TFLM smallest working arena {tflm['reference_arena']:,} (reference) / "
                f"{tflm['cmsis_nn_arena']:,} (CMSIS-NN): {verdict}"
            )
        lines.append(text)
    lines += ["", "flash and RAM (from the ELF headers and the linker map):"]
    for v in variants:
        e = data["variants"][v.key]["engine"]
        f = data["variants"][v.key]["firmware"]
        lines.append(
            f"  {VARIANT_LABELS[v.key]:<12} engine {e['flash_bytes']:,} B ({e['code_bytes']:,} "
            f"loader+kernels + {e['library_bytes']:,} libgcc/libc), nn SMP group "
            f"{e['smp_group_bytes']:,} B; firmware flash {f['flash_bytes']:,} B, "
            f"static RAM {f['ram_bytes']:,} B"
        )
    lines.append(
        f"  TFLM runtime flash: ~{ENGINE_FLASH_TARGET_BYTES / 1000:.1f} KB (reference kernels); "
        f"engine below it: {'met' if data['targets']['engine_flash'] else 'MISSED'}"
    )
    bad = [
        f"{row['name']} ({k})"
        for row in data["models"]
        for k, ok in row["output_matches_reference"].items()
        if ok is False
    ]
    if bad:
        lines.append(f"WARNING: device output differs from tflite-micro: {', '.join(bad)}")
    return "\n".join(lines)


@click.group(invoke_without_command=True)
@click.option(
    "--model",
    "models",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A .tflite model (repeatable) [default: models/bench/*.tflite].",
)
@click.option(
    "--elf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Firmware image with the DSP kernels [default: $THERALOOP_ELF, else "
    "build/stm32f4/.../theraloop.elf].",
)
@click.option(
    "--portable-elf",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Firmware image with the portable kernels [default: {PORTABLE_ELF_NAME} next to --elf].",
)
@click.option(
    "--variant",
    type=click.Choice(["both", "dsp", "portable"]),
    default="both",
    show_default=True,
    help="Which kernel variants to measure.",
)
@click.option(
    "--cross-check",
    is_flag=True,
    help="Also count one inference of each model exactly from a QEMU execution trace "
    "(-singlestep, slower) and compare it with the SysTick figure.",
)
@json_option
@pass_state
def bench(
    state: CliState,
    models: tuple[Path, ...],
    elf: Path | None,
    portable_elf: Path | None,
    variant: str,
    cross_check: bool,
) -> None:
    """Measure the inference engine on the emulated Cortex-M4 (QEMU netduinoplus2).

    Boots each firmware variant in QEMU with -icount (1 instruction = 1 ns of virtual
    time), uploads each model over SMP and times tl_nn_invoke with SysTick, calibrated
    with a loop of known instruction count. Prints instructions per inference, MACs,
    the ratio to the MAC bound (MACs / 2), the exact arena, the engine's flash (from
    the linker map) and the firmware's flash and RAM, next to TFLM's figures for the
    reference models. Method: docs/engine.md, "Benchmark method".

    Subcommands: `bench upload` (image upload throughput against the serial line) and
    `bench verify` (the bootloader's SHA-256 and Ed25519 cycles); without one, the
    inference benchmark runs.
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    paths = [p.resolve() for p in models] or _default_models()
    dsp_elf = (elf or default_elf()).resolve()
    wanted = ["dsp", "portable"] if variant == "both" else [variant]
    elfs = {"dsp": dsp_elf, "portable": (portable_elf or dsp_elf.with_name(PORTABLE_ELF_NAME))}
    variants = [_sizes(k, elfs[k].resolve()) for k in wanted]
    expected = _reference_outputs(paths)
    results: dict[str, VariantResult] = {}
    traces: dict[str, dict[Path, TraceCount]] = {}
    steps_per_variant = 1 + len(paths) * (2 if cross_check else 1)
    with tqdm(
        total=len(variants) * steps_per_variant,
        desc="bench",
        unit="step",
        disable=None,
        leave=False,
    ) as bar:

        def step(text: str) -> None:
            bar.set_postfix_str(text)
            bar.update(1)

        for v in variants:
            r = run_variant(v.elf, paths, timeout=state.timeout, expected=expected, step=step)
            if r.dsp != (v.key == "dsp"):
                raise UsageError(
                    f"{v.elf} runs the {'DSP' if r.dsp else 'portable'} kernels, not the "
                    f"{VARIANT_LABELS[v.key]} expected for --variant {v.key}"
                )
            results[v.key] = r
            if cross_check:
                traces[v.key] = trace_variant(v.elf, paths, timeout=state.timeout, step=step)

    first = results[variants[0].key]
    data: dict[str, Any] = {
        "method": {
            "emulator": "qemu-system-arm",
            "machine": "netduinoplus2",
            "icount_shift": first.calibration.icount_shift,
            "tick_hz": first.calibration.tick_hz,
            "counted": "instructions of tl_nn_invoke, from its first instruction to its "
            "return, interrupts masked; harness overhead removed by calibration",
            "engine_flash": "kept .text/.rodata/.data input sections of the src/nn objects "
            "plus the libgcc/libc members they call (linker map, --cref)",
        },
        "variants": {
            v.key: {
                "elf": str(v.elf),
                "dsp": results[v.key].dsp,
                "firmware": v.firmware.to_json(),
                "engine": v.engine.to_json(),
                "calibration": results[v.key].calibration.to_json(),
            }
            for v in variants
        },
        "models": _per_model(variants, results, traces),
    }
    data["targets"] = {
        "engine_flash": all(v.engine.flash_bytes < ENGINE_FLASH_TARGET_BYTES for v in variants),
        "calibration": all(results[v.key].calibration.ok for v in variants),
        "cross_check": (
            all(
                abs(d) <= AGREEMENT_LIMIT
                for row in data["models"]
                for d in row["trace_difference"].values()
            )
            if cross_check
            else None
        ),
    }
    state.emit(data, _human(data, variants))


bench.add_command(update_bench.upload)
bench.add_command(update_bench.verify)
