"""The therapy configuration, through the C core (one table drives validation and docs).

    cfg = TherapyConfig()                       # the device's safe defaults
    cfg.set("policy", "adaptive")               # validated at once; refused -> ConfigRejected
    with cfg.batch() as b:                      # several fields, validated together
        b["pulse_width_max_us"] = 450
        b["amplitude_max_ua"] = 4000
    check = cfg.check()                         # worst case: charge, density, Shannon k

Every rule lives in firmware/core/src/therapy/config.c; this module only calls it.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from theraloop.therapy import _native
from theraloop.therapy.codes import ConfigError

GROUPS = ("limits", "program", "fallback", "adaptive", "responsive")


@dataclass(frozen=True)
class FieldInfo:
    """One configuration field as the firmware defines it."""

    index: int
    name: str
    signed: bool
    group: str
    min: int
    max: int
    default: int
    unit: str
    choices: tuple[str, ...]
    help: str


@dataclass(frozen=True)
class Check:
    """Outcome of a validation: the error, the field it names, why, and the worst case."""

    error: ConfigError
    field: str | None
    why: str
    worst_charge_nc: float
    worst_density_uc_cm2: float
    worst_shannon_k: float | None

    @property
    def ok(self) -> bool:
        return self.error == ConfigError.OK


class ConfigRejected(ValueError):
    """The firmware's validation refused a configuration or a value."""

    def __init__(self, check: Check) -> None:
        self.check = check
        super().__init__(f"{check.error.name.lower()}: {check.why}")


def _text(raw: bytes | None) -> str:
    return raw.decode() if raw else ""


_FIELDS: tuple[FieldInfo, ...] | None = None


def fields() -> tuple[FieldInfo, ...]:
    """All fields, in the firmware's table order."""
    global _FIELDS
    if _FIELDS is None:
        lib = _native.lib()
        out = []
        for i in range(lib.tl_therapy_config_field_count()):
            f = lib.tl_therapy_config_field(i).contents
            out.append(
                FieldInfo(
                    index=i,
                    name=_text(f.name),
                    signed=f.type == 1,
                    group=GROUPS[f.group],
                    min=f.min,
                    max=f.max,
                    default=f.default,
                    unit=_text(f.unit),
                    choices=tuple(_text(f.choices).split("|")) if f.choices else (),
                    help=_text(f.help),
                )
            )
        _FIELDS = tuple(out)
    return _FIELDS


def field(name: str) -> FieldInfo:
    for f in fields():
        if f.name == name:
            return f
    raise KeyError(name)


def _check_from(c: _native.Check) -> Check:
    names = fields()
    k = c.worst_shannon_k_milli
    return Check(
        error=ConfigError(c.err),
        field=names[c.field].name if 0 <= c.field < len(names) else None,
        why=c.why.decode(errors="replace"),
        worst_charge_nc=c.worst_charge_pc / 1000.0,
        worst_density_uc_cm2=c.worst_density_cuc / 100.0,
        worst_shannon_k=None if k == -(2**31) else k / 1000.0,
    )


class TherapyConfig:
    """A tl_therapy_config_t in C memory; every change goes through the C validation."""

    def __init__(self, values: Mapping[str, int | str] | None = None) -> None:
        self._buf = _native.new_object(_native.SIZEOF_CONFIG)
        _native.lib().tl_therapy_config_defaults(self._buf)
        if values:
            self.update(values)

    @property
    def buffer(self) -> ctypes.Array[ctypes.c_char]:
        """The C struct (for calls into the core)."""
        return self._buf

    def to_bytes(self) -> bytes:
        return bytes(self._buf)

    @classmethod
    def from_bytes(cls, raw: bytes) -> TherapyConfig:
        """A configuration from struct bytes, unvalidated (call check())."""
        cfg = cls()
        if len(raw) != len(cfg._buf):
            raise ValueError(f"expected {len(cfg._buf)} bytes, got {len(raw)}")
        ctypes.memmove(cfg._buf, raw, len(raw))
        return cfg

    def copy(self) -> TherapyConfig:
        return TherapyConfig.from_bytes(self.to_bytes())

    def _value(self, f: FieldInfo, value: int | str) -> int:
        if isinstance(value, str):
            if value not in f.choices:
                raise ConfigRejected(
                    Check(
                        ConfigError.CHOICE,
                        f.name,
                        f"{f.name}: {value!r} is not one of {', '.join(f.choices) or '(numbers)'}",
                        0.0,
                        0.0,
                        None,
                    )
                )
            return f.choices.index(value)
        return int(value)

    def __getitem__(self, name: str) -> int:
        f = field(name)
        out = ctypes.c_int64()
        _native.lib().tl_therapy_config_get(self._buf, f.index, ctypes.byref(out))
        return out.value

    def get(self, name: str) -> int | str:
        """A field's value; enumerations as their choice name."""
        f = field(name)
        v = self[name]
        return f.choices[v] if f.choices and 0 <= v < len(f.choices) else v

    def as_dict(self) -> dict[str, int | str]:
        return {f.name: self.get(f.name) for f in fields()}

    def set(self, name: str, value: int | str) -> Check:
        """Change one field; the whole configuration is validated, nothing changes if refused."""
        try:
            f = field(name)
        except KeyError:
            f = None
        v = self._value(f, value) if f is not None else int(value)
        c = _native.Check()
        raw = name.encode()
        _native.lib().tl_therapy_config_set(self._buf, raw, len(raw), v, ctypes.byref(c))
        check = _check_from(c)
        if not check.ok:
            raise ConfigRejected(check)
        return check

    def put(self, name: str, value: int | str) -> None:
        """Change one field with its own range check only (see batch())."""
        f = field(name)
        c = _native.Check()
        _native.lib().tl_therapy_config_put(
            self._buf, f.index, self._value(f, value), ctypes.byref(c)
        )
        check = _check_from(c)
        if not check.ok:
            raise ConfigRejected(check)

    @contextmanager
    def batch(self) -> Iterator[dict[str, int | str]]:
        """Collect several changes, apply them together, validate once (all or nothing)."""
        changes: dict[str, int | str] = {}
        yield changes
        self.update(changes)

    def update(self, values: Mapping[str, int | str]) -> Check:
        trial = self.copy()
        for name, value in values.items():
            trial.put(name, value)
        check = trial.check()
        if not check.ok:
            raise ConfigRejected(check)
        ctypes.memmove(self._buf, trial._buf, len(self._buf))
        return check

    def check(self) -> Check:
        c = _native.Check()
        _native.lib().tl_therapy_config_validate(self._buf, ctypes.byref(c))
        return _check_from(c)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TherapyConfig) and self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"TherapyConfig({self.as_dict()!r})"


def shannon_k(amplitude_ua: int, pulse_width_us: int, area_um2: int) -> float | None:
    """Shannon k of one pulse on one electrode, as the firmware computes it."""
    k = _native.lib().tl_stim_shannon_k_milli(amplitude_ua, pulse_width_us, area_um2)
    return None if k == -(2**31) else k / 1000.0


def density_uc_cm2(amplitude_ua: int, pulse_width_us: int, area_um2: int) -> float:
    """Charge density (rounded up to 0.01 uC/cm2/phase), as the firmware computes it."""
    return _native.lib().tl_stim_density_cuc(amplitude_ua, pulse_width_us, area_um2) / 100.0


def markdown_table() -> str:
    """The configuration fields as the Markdown table in docs/therapy.md."""
    rows = [
        "| field | group | unit | range | default | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for f in fields():
        if f.choices:
            rng = " / ".join(f"{i} {c}" for i, c in enumerate(f.choices))
            default = f"{f.default} ({f.choices[f.default]})"
        else:
            lo = "INT32_MIN" if f.min == -(2**31) else str(f.min)
            hi = "INT32_MAX" if f.max == 2**31 - 1 else str(f.max)
            rng = f"{lo} .. {hi}"
            default = str(f.default)
        rows.append(f"| `{f.name}` | {f.group} | {f.unit} | {rng} | {default} | {f.help} |")
    return "\n".join(rows) + "\n"
