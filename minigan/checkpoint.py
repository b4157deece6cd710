"""Checkpoints: modules, optimizers, RNG state, step and config in one .npz, without pickle.

Written atomically: to a temporary file in the same folder, flushed to disk, then renamed over
the target, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import write_atomic

FORMAT = "minigan-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that is missing, corrupt, or does not fit what it is loaded into."""


@dataclass
class Checkpoint:
    step: int
    config: dict
    modules: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    optimizers: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rng_state: dict | None = None
    extra: dict = field(default_factory=dict)

    def restore(self, modules: dict | None = None, optimizers: dict | None = None,
                rng: np.random.Generator | None = None) -> None:
        """Load the saved state into live objects, by the names used when saving."""
        for name, module in (modules or {}).items():
            if name not in self.modules:
                raise CheckpointError(f"checkpoint has no module {name!r} "
                                      f"(it has {sorted(self.modules)})")
            module.load_state_dict(self.modules[name])
        for name, opt in (optimizers or {}).items():
            if name not in self.optimizers:
                raise CheckpointError(f"checkpoint has no optimizer {name!r}")
            opt.load_state_dict(self.optimizers[name])
        if rng is not None:
            if self.rng_state is None:
                raise CheckpointError("checkpoint holds no RNG state")
            rng.bit_generator.state = self.rng_state


def save_checkpoint(path, step: int, config: dict, modules: dict | None = None,
                    optimizers: dict | None = None, rng: np.random.Generator | None = None,
                    extra: dict | None = None) -> Path:
    """Write one checkpoint atomically. `modules` and `optimizers` map names to live objects."""
    path = Path(path)
    arrays = {}
    for name, module in (modules or {}).items():
        for key, value in module.state_dict().items():
            arrays[f"module/{name}/{key}"] = value
    for name, opt in (optimizers or {}).items():
        for key, value in opt.state_dict().items():
            arrays[f"optim/{name}/{key}"] = value
    meta = {
        "format": FORMAT, "version": VERSION, "step": int(step), "config": config,
        "rng_state": rng.bit_generator.state if rng is not None else None,
        "extra": extra or {},
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return write_atomic(path, lambda f: np.savez(f, **arrays))


def load_checkpoint(path) -> Checkpoint:
    """Read and verify a whole checkpoint; any damage raises CheckpointError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}  # reading every member verifies its CRC
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path} is corrupt or not a checkpoint: {e}") from e
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has no readable metadata: {e}") from e
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minigan checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {meta.get('version')}, "
                              f"this minigan reads version {VERSION}")
    ckpt = Checkpoint(step=meta["step"], config=meta["config"], rng_state=meta["rng_state"],
                      extra=meta.get("extra", {}))
    for key, value in arrays.items():
        kind, name, rest = key.split("/", 2)
        table = ckpt.modules if kind == "module" else ckpt.optimizers
        table.setdefault(name, {})[rest] = value
    return ckpt
