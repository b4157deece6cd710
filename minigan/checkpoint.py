"""Checkpoints: modules, optimizers, RNG state, step and config in one .npz, without pickle.

Written atomically: to a temporary file in the same folder, flushed to disk, then renamed over
the target, so a crash leaves either the old checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import read_npz, write_atomic
from .errors import UserError

FORMAT = "minigan-checkpoint"
VERSION = 1


class CheckpointError(UserError):
    """A checkpoint file that is missing, corrupt, or does not fit what it is loaded into."""


@dataclass
class Checkpoint:
    step: int
    config: dict
    modules: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    optimizers: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rng_state: dict | None = None
    extra: dict = field(default_factory=dict)
    path: str = ""                 # the file it was read from, named in errors

    def restore(self, modules: dict | None = None, optimizers: dict | None = None,
                rng: np.random.Generator | None = None) -> None:
        """Load the saved state into live objects, by the names used when saving. Weights that
        are missing, do not fit the model, or hold NaN or inf raise CheckpointError."""
        where = self.path or "the checkpoint"
        for name, module in (modules or {}).items():
            if name not in self.modules:
                raise CheckpointError(f"{where} has no module {name!r} "
                                      f"(it has {sorted(self.modules)})")
            bad = [k for k, v in self.modules[name].items()
                   if v.dtype.kind == "f" and not np.isfinite(v).all()]
            if bad:
                raise CheckpointError(f"{where}: the weights of {name} hold NaN or inf "
                                      f"({', '.join(bad[:3])}); the run diverged or the file "
                                      f"is damaged: use an earlier checkpoint")
            try:
                module.load_state_dict(self.modules[name])
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{where}: the weights of {name} do not fit the model its "
                                      f"config describes ({str(e).strip(chr(39))})") from None
        for name, opt in (optimizers or {}).items():
            if name not in self.optimizers:
                raise CheckpointError(f"{where} has no optimizer {name!r}")
            try:
                opt.load_state_dict(self.optimizers[name])
            except (KeyError, ValueError) as e:
                raise CheckpointError(f"{where}: the optimizer state {name} does not fit the "
                                      f"model ({str(e).strip(chr(39))})") from None
        if rng is not None:
            if self.rng_state is None:
                raise CheckpointError(f"{where} holds no RNG state")
            try:
                rng.bit_generator.state = self.rng_state
            except (TypeError, ValueError, KeyError) as e:
                raise CheckpointError(f"{where}: damaged RNG state ({e})") from None


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
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        arrays = read_npz(path, "checkpoint")  # reading every member verifies its CRC
    except UserError as e:
        raise CheckpointError(str(e)) from None
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"checkpoint {path} has no readable metadata: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a minigan checkpoint")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {meta.get('version')}, "
                              f"this minigan reads version {VERSION}")
    missing = [k for k in ("step", "config", "rng_state") if k not in meta]
    if missing or not isinstance(meta["config"], dict):
        raise CheckpointError(f"{path}: damaged metadata (missing {missing or ['config']})")
    ckpt = Checkpoint(step=meta["step"], config=meta["config"], rng_state=meta["rng_state"],
                      extra=meta.get("extra", {}), path=str(path))
    for key, value in arrays.items():
        kind, _, rest = key.partition("/")
        name, _, rest = rest.partition("/")
        if kind not in ("module", "optim") or not rest:
            raise CheckpointError(f"{path}: unexpected array {key!r}; not a minigan checkpoint")
        table = ckpt.modules if kind == "module" else ckpt.optimizers
        table.setdefault(name, {})[rest] = value
    return ckpt
