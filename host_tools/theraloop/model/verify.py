"""``theraloop model verify``: our engine against TFLM's reference, input by input.

Inputs are edge patterns (every element at the int8 minimum, maximum, the zero point,
alternating extremes; for float inputs also exact rounding ties), uniform random
inputs over the whole int8 range, and real inputs from a ``.npy``/``.npz`` file. Each
case runs through the ``tflite-micro`` interpreter and through the engine's host
build, and with a device port also through the engine on the device (uploaded and
loaded over SMP, the nn group); outputs are compared element by element.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from theraloop.device import Device
from theraloop.errors import DeviceError
from theraloop.mgmt import NN_GROUP_ID, NnErr
from theraloop.model.device_engine import DeviceEngine, DeviceEngineError
from theraloop.model.engine_link import engine_module
from theraloop.model.errors import EngineRunFailed, EngineUnavailable, ModelRejected
from theraloop.model.support import unsupported_reasons
from theraloop.model.tflite_file import Model, ModelFormatError, parse
from theraloop.tflite_reference import Reference, ReferenceTensor, TflmError, io_tensor

INT8_MIN, INT8_MAX = -128, 127


@dataclass(frozen=True)
class Case:
    kind: str  # "edge:min", "random", "data[3]", ...
    inputs: tuple[np.ndarray, ...]


# ---------------------------------------------------------------------------------------
# Inputs


def _float_range(model: Model, info: ReferenceTensor) -> tuple[float, float, float]:
    """(low, high, step) of the int8 grid a float input is quantized onto."""
    for op in model.consumers(info.tensor):
        if op.op == "QUANTIZE":
            q = model.tensors[op.outputs[0]].quantization
            if q.kind == "per-tensor" and q.scale > 0:
                lo = (INT8_MIN - q.zero_point) * q.scale
                hi = (INT8_MAX - q.zero_point) * q.scale
                return lo, hi, q.scale
    return -1.0, 1.0, 2.0 / 255.0


def edge_cases(model: Model, inputs: Sequence[ReferenceTensor]) -> list[Case]:
    """Saturating and degenerate inputs: the same pattern on every input."""
    patterns: dict[str, list[np.ndarray]] = {}
    for info in inputs:
        shape = info.shape
        if info.dtype == np.int8:
            zp = int(np.clip(info.zero_point, INT8_MIN, INT8_MAX))
            alt = np.where(np.indices(shape).sum(axis=0) % 2 == 0, INT8_MIN, INT8_MAX)
            made = {
                "edge:min": np.full(shape, INT8_MIN),
                "edge:max": np.full(shape, INT8_MAX),
                "edge:zero_point": np.full(shape, zp),
                "edge:alternating": alt,
            }
        elif info.dtype == np.float32:
            lo, hi, step = _float_range(model, info)
            n = int(np.prod(shape))
            ties = ((np.arange(n) % 255) - 127 + 0.5) * step  # exactly halfway between levels
            made = {
                "edge:min": np.full(shape, 4 * lo - 1.0),
                "edge:max": np.full(shape, 4 * hi + 1.0),
                "edge:zero_point": np.zeros(shape),
                "edge:alternating": np.where(
                    np.indices(shape).sum(axis=0) % 2 == 0, 4 * lo - 1, 4 * hi + 1
                ),
                "edge:ties": ties.reshape(shape),
            }
        else:
            raise ModelRejected(f"input {info.index} ({info.name}) has type {info.dtype.name}")
        for kind, arr in made.items():
            patterns.setdefault(kind, []).append(arr.astype(info.dtype))
    return [Case(kind, tuple(arrs)) for kind, arrs in patterns.items() if len(arrs) == len(inputs)]


def random_cases(
    model: Model, inputs: Sequence[ReferenceTensor], n: int, rng: np.random.Generator
) -> list[Case]:
    """Uniform over the int8 range (float inputs: over the quantized range and beyond)."""
    cases = []
    for _ in range(n):
        arrs = []
        for info in inputs:
            if info.dtype == np.int8:
                arrs.append(rng.integers(INT8_MIN, INT8_MAX + 1, info.shape, dtype=np.int8))
            else:
                lo, hi, _step = _float_range(model, info)
                span = hi - lo
                arrs.append(rng.uniform(lo - 0.1 * span, hi + 0.1 * span, info.shape))
                arrs[-1] = arrs[-1].astype(info.dtype)
        cases.append(Case("random", tuple(arrs)))
    return cases


def _as_cases_for(info: ReferenceTensor, arr: np.ndarray, source: str) -> list[np.ndarray]:
    shape = info.shape
    if tuple(arr.shape) == shape:
        rows = [arr]
    elif tuple(arr.shape[1:]) == shape:
        rows = list(arr)
    elif shape and shape[0] == 1 and tuple(arr.shape[1:]) == shape[1:]:
        rows = [a.reshape(shape) for a in arr]
    else:
        raise ModelRejected(
            f"{source}: shape {list(arr.shape)} fits neither input {info.index} "
            f"{list(shape)} nor [N, ...] of it"
        )
    out = []
    for r in rows:
        if info.dtype == np.int8 and np.issubdtype(r.dtype, np.floating):
            if info.scale <= 0:
                raise ModelRejected(f"{source}: float data for unquantized input {info.index}")
            q = np.round(r / info.scale) + info.zero_point
            out.append(np.clip(q, INT8_MIN, INT8_MAX).astype(np.int8))
        elif info.dtype == np.int8:
            if r.min(initial=0) < INT8_MIN or r.max(initial=0) > INT8_MAX:
                raise ModelRejected(f"{source}: integer data outside the int8 range")
            out.append(r.astype(np.int8))
        else:
            out.append(r.astype(info.dtype))
    return out


def data_cases(path: Path, inputs: Sequence[ReferenceTensor]) -> list[Case]:
    """Real inputs: ``.npy`` for one input, ``.npz`` with one array per input.

    Arrays are one input ([*shape]) or several ([N, *shape]; with a batch-1 model also
    [N, *shape[1:]]). Float data for an int8 input is quantized with the input's scale
    and zero point; int8 data is used as is. ``.npz`` keys: the input tensor names, or
    ``input0``, ``input1``, ... in model order (a single array is used for input 0).
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ModelRejected(f"{path}: cannot read as .npy/.npz: {e}") from e
    if isinstance(loaded, np.ndarray):
        arrays = {0: loaded}
    else:
        with loaded:
            keys = list(loaded.keys())
            arrays = {}
            for info in inputs:
                for key in (info.name, f"input{info.index}", str(info.index)):
                    if key in keys:
                        arrays[info.index] = loaded[key]
                        break
            if not arrays and len(keys) == 1:
                arrays[0] = loaded[keys[0]]
    missing = [i.index for i in inputs if i.index not in arrays]
    if missing:
        raise ModelRejected(
            f"{path}: no data for input(s) {', '.join(map(str, missing))}; "
            "use an .npz with one array per input"
        )
    per_input = [_as_cases_for(i, np.asarray(arrays[i.index]), str(path)) for i in inputs]
    counts = {len(p) for p in per_input}
    if len(counts) != 1:
        raise ModelRejected(f"{path}: inputs have different numbers of cases {sorted(counts)}")
    return [Case(f"data[{k}]", tuple(p[k] for p in per_input)) for k in range(counts.pop())]


# ---------------------------------------------------------------------------------------
# Comparison


@dataclass
class OutputStats:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    elements: int = 0
    mismatched_elements: int = 0
    mismatched_cases: int = 0
    max_abs_diff: int = 0
    shape_mismatch: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "name": self.name,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "elements_compared": self.elements,
            "mismatched_elements": self.mismatched_elements,
            "mismatched_cases": self.mismatched_cases,
            "max_abs_diff": self.max_abs_diff,
        }
        if self.shape_mismatch:
            out["shape_mismatch"] = self.shape_mismatch
        return out


@dataclass
class VerifyResult:
    """The host engine against the reference; with `device`, the device's run as well.

    `bit_exact`, `max_abs_diff` and `mismatched_cases` cover every target (the worst
    one); `outputs` are the host engine's statistics, `targets` in the JSON has each
    target's own.
    """

    cases: int
    outputs: list[OutputStats]
    kinds: dict[str, int]
    first_mismatch: dict[str, Any] | None = None
    mismatched_cases: int = 0
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    device: VerifyResult | None = None
    device_info: dict[str, Any] = field(default_factory=dict)

    @property
    def own_bit_exact(self) -> bool:
        return self.mismatched_cases == 0 and not any(o.shape_mismatch for o in self.outputs)

    @property
    def bit_exact(self) -> bool:
        return self.own_bit_exact and (self.device is None or self.device.bit_exact)

    @property
    def own_max_abs_diff(self) -> int:
        return max((o.max_abs_diff for o in self.outputs), default=0)

    @property
    def max_abs_diff(self) -> int:
        device = self.device.max_abs_diff if self.device is not None else 0
        return max(self.own_max_abs_diff, device)

    def _target_json(self) -> dict[str, Any]:
        return {
            "bit_exact": self.own_bit_exact,
            "max_abs_diff": self.own_max_abs_diff,
            "mismatched_cases": self.mismatched_cases,
            "outputs": [o.to_json() for o in self.outputs],
            "first_mismatch": self.first_mismatch,
        }

    def to_json(self) -> dict[str, Any]:
        targets: dict[str, Any] = {"engine": self._target_json()}
        first = self.first_mismatch
        if first is not None:
            first = {**first, "target": "engine"}
        worst = self.mismatched_cases
        if self.device is not None:
            targets["device"] = {**self.device_info, **self.device._target_json()}
            worst = max(worst, self.device.mismatched_cases)
            if first is None and self.device.first_mismatch is not None:
                first = {**self.device.first_mismatch, "target": "device"}
        return {
            **self.extra,
            "bit_exact": self.bit_exact,
            "cases": self.cases,
            "max_abs_diff": self.max_abs_diff,
            "mismatched_cases": worst,
            "case_kinds": self.kinds,
            "seed": self.seed,
            "outputs": [o.to_json() for o in self.outputs],
            "first_mismatch": first,
            "targets": targets,
        }


def _output_lsb(model: Model, info: ReferenceTensor) -> float:
    """Size of one quantization step of a float output (its DEQUANTIZE input's scale)."""
    producer = model.producer(info.tensor)
    if producer is not None and producer.op == "DEQUANTIZE":
        q = model.tensors[producer.inputs[0]].quantization
        if q.scale > 0:
            return q.scale
    return 0.0


def compare(
    model: Model,
    outputs: Sequence[ReferenceTensor],
    cases: Sequence[Case],
    reference: Sequence[Sequence[np.ndarray]],
    engine: Sequence[Sequence[np.ndarray]],
) -> VerifyResult:
    """Element-wise comparison; differences of float outputs are counted in output LSBs."""
    stats = [OutputStats(o.index, o.name, o.shape, o.dtype.name) for o in outputs]
    kinds: dict[str, int] = {}
    first: dict[str, Any] | None = None
    bad_cases = 0
    for c, case in enumerate(cases):
        key = case.kind.split("[")[0].split(":")[0]
        kinds[key] = kinds.get(key, 0) + 1
        case_bad = False
        for k, st in enumerate(stats):
            ref = np.asarray(reference[c][k])
            got = np.asarray(engine[c][k])
            if ref.shape != got.shape or ref.dtype != got.dtype:
                st.shape_mismatch = (
                    f"engine {got.dtype.name}{list(got.shape)} vs "
                    f"reference {ref.dtype.name}{list(ref.shape)}"
                )
                st.mismatched_cases += 1
                case_bad = True
                if first is None:
                    first = {"case": c, "kind": case.kind, "output": k, "error": st.shape_mismatch}
                continue
            st.elements += ref.size
            if np.issubdtype(ref.dtype, np.floating):
                same = ref.view(np.uint32 if ref.itemsize == 4 else np.uint64) == got.view(
                    np.uint32 if got.itemsize == 4 else np.uint64
                )
                lsb = _output_lsb(model, outputs[k])
                with np.errstate(invalid="ignore"):
                    absdiff = np.abs(ref.astype(np.float64) - got.astype(np.float64))
                    steps = np.ceil(absdiff / lsb - 1e-6) if lsb > 0 else np.ceil(absdiff)
                steps = np.where(np.isfinite(steps), steps, 2**31 - 1)
                diff = np.where(same, 0, np.maximum(steps, 1)).astype(np.int64)
            else:
                diff = np.abs(ref.astype(np.int64) - got.astype(np.int64))
            bad = diff != 0
            n_bad = int(bad.sum())
            if n_bad:
                case_bad = True
                st.mismatched_cases += 1
                st.mismatched_elements += n_bad
                st.max_abs_diff = max(st.max_abs_diff, int(diff.max()))
                if first is None:
                    where = tuple(int(i) for i in np.argwhere(bad)[0])
                    first = {
                        "case": c,
                        "kind": case.kind,
                        "output": k,
                        "index": list(where),
                        "reference": ref[where].item(),
                        "engine": got[where].item(),
                    }
        bad_cases += case_bad
    return VerifyResult(
        cases=len(cases),
        outputs=stats,
        kinds=kinds,
        first_mismatch=first,
        mismatched_cases=bad_cases,
    )


# ---------------------------------------------------------------------------------------
# Running


def run_engine(eng: Any, cases: Sequence[Case]) -> list[list[np.ndarray]]:
    """Run every case through a loaded ``theraloop.engine.Engine``."""
    mod = engine_module()
    out = []
    for k, case in enumerate(cases):
        try:
            out.append([np.array(o, copy=True) for o in eng.invoke(*case.inputs)])
        except mod.EngineError as e:
            raise EngineRunFailed(f"the engine failed on case {k} ({case.kind}): {e}") from e
    return out


def _reference_worker(
    model_bytes: bytes, inputs: list[tuple[np.ndarray, ...]]
) -> list[list[np.ndarray]]:
    ref = Reference(model_bytes)
    return [ref.invoke(*case) for case in inputs]


def run_reference(
    model_bytes: bytes, cases: Sequence[Case], isolate: bool = True
) -> list[list[np.ndarray]]:
    """Run the TFLM reference; ``isolate`` runs it in a child process.

    TFLM trusts the file (a malformed model can crash it): in a child process a crash
    becomes an error message instead of taking the tool down with it.
    """
    inputs = [case.inputs for case in cases]
    if not isolate:
        return _reference_worker(model_bytes, inputs)
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            return pool.submit(_reference_worker, model_bytes, inputs).result()
    except BrokenProcessPool as e:
        raise TflmError("the tflite-micro interpreter crashed on this model") from e


def check_model(model_bytes: bytes, source: str) -> tuple[Model, Any]:
    """Parse, pre-check and load into the engine: (model, engine) or one readable error."""
    try:
        model = parse(model_bytes)
    except ModelFormatError as e:
        raise ModelRejected(f"{source}: not a valid .tflite model: {e}") from e
    reasons = unsupported_reasons(model)
    if reasons:
        raise ModelRejected(f"{source}: unsupported model: {'; '.join(reasons)}")
    mod = engine_module()
    try:
        eng = mod.Engine(model_bytes)
    except OSError as e:  # the library is not built (EngineLibraryMissing) or not loadable
        raise EngineUnavailable(f"the engine's host library is not available: {e}") from e
    except mod.EngineError as e:
        raise ModelRejected(f"{source}: the engine rejects the model: {e}") from e
    return model, eng


def run_device(
    model_bytes: bytes,
    source: str,
    cases: Sequence[Case],
    *,
    port: str,
    timeout: float,
    host_arena: int | None = None,
    progress: bool = False,
) -> tuple[list[list[np.ndarray]], dict[str, Any]]:
    """Upload and load the model on the device at `port`, run every case there.

    Returns the outputs and what the device said about the model. A model the device
    refuses (too big for its slot or arena, or its engine rejects it) is ModelRejected.
    """
    with Device(port, timeout=timeout) as dev:
        eng = DeviceEngine(dev)
        try:
            state = eng.state()
            with tqdm(
                total=len(model_bytes), desc="upload", unit="B", disable=None, leave=False
            ) as bar:
                loaded = eng.load_model(model_bytes, progress=bar.update)
        except DeviceEngineError as e:
            raise ModelRejected(f"{source}: the device refuses the model: {e}") from e
        except DeviceError as e:
            if e.group == NN_GROUP_ID and e.rc == NnErr.TOO_LARGE:
                raise ModelRejected(
                    f"{source}: {len(model_bytes):,} bytes do not fit in the device's "
                    f"{state.slot_bytes:,}-byte model slot"
                ) from e
            raise
        out = []
        for case in tqdm(cases, desc="device", unit="case", disable=None if progress else True):
            out.append(eng.invoke(*case.inputs))
    info: dict[str, Any] = {
        "port": port,
        "dsp": state.dsp,
        "arena_bytes": loaded.arena_bytes,
        "sha256": loaded.sha256.hex(),
    }
    if host_arena is not None:
        info["arena_bytes_host"] = host_arena
        info["arena_matches_host"] = host_arena == loaded.arena_bytes
    return out, info


def verify_model(
    model_bytes: bytes,
    source: str,
    n_random: int = 200,
    seed: int = 0,
    data: Path | None = None,
    isolate: bool = True,
    port: str | None = None,
    timeout: float = 3.0,
    progress: bool = False,
) -> VerifyResult:
    """Edge, random and (optionally) real cases through TFLM and the engine (and, with
    `port`, the engine on that device)."""
    model, eng = check_model(model_bytes, source)
    ins = [io_tensor(model, i, t) for i, t in enumerate(model.input_tensors)]
    outs = [io_tensor(model, i, t) for i, t in enumerate(model.output_tensors)]
    rng = np.random.default_rng(seed)
    cases = edge_cases(model, ins) + random_cases(model, ins, n_random, rng)
    if data is not None:
        cases += data_cases(data, ins)
    try:
        reference = run_reference(model_bytes, cases, isolate=isolate)
    except TflmError as e:
        raise ModelRejected(f"{source}: {e}") from e
    engine = run_engine(eng, cases)
    result = compare(model, outs, cases, reference, engine)
    result.seed = seed
    if port is not None:
        device_out, info = run_device(
            model_bytes,
            source,
            cases,
            port=port,
            timeout=timeout,
            host_arena=int(eng.arena_bytes),
            progress=progress,
        )
        result.device = compare(model, outs, cases, reference, device_out)
        result.device_info = info
    return result


__all__ = [
    "Case",
    "EngineRunFailed",
    "EngineUnavailable",
    "VerifyResult",
    "compare",
    "data_cases",
    "edge_cases",
    "random_cases",
    "run_device",
    "run_engine",
    "run_reference",
    "verify_model",
]
