"""Progress bars on stderr (tqdm), one per training stage; stdout stays for results."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm


class Progress:
    """Factory of tqdm bars; ``enabled=False`` makes them silent (tests, --json runs)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def bar(self, total: int, desc: str) -> tqdm:
        return tqdm(
            total=total,
            desc=desc,
            file=sys.stderr,
            disable=not self.enabled,
            leave=False,
            dynamic_ncols=True,
        )

    def note(self, text: str) -> None:
        if self.enabled:
            tqdm.write(text, file=sys.stderr)


def epoch_callback(keras: Any, bar: tqdm) -> Any:
    """A Keras callback advancing ``bar`` by one per epoch (with the training loss)."""

    class _Epochs(keras.callbacks.Callback):  # type: ignore[misc, name-defined]
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if logs and "loss" in logs:
                bar.set_postfix(loss=f"{logs['loss']:.3f}", refresh=False)
            bar.update(1)

    return _Epochs()
