"""Checkpoints: models, optimizers, run metadata and the RNG state in one `.npz` file.

Place in the tower: checkpoint.py (imports io, random, nn.module, optim and the standard library).
A file holds plain arrays only, so it is read with allow_pickle=False and loading never runs
code:

    "__checkpoint__"                 a JSON string: {"format": "tinygen.checkpoint", "version": 1,
                                     "meta": {...}, "rng_state": {...}, "models": [names],
                                     "optimizers": {name: {"param_groups": [...],
                                                           "scalars": {index: {"step": 5}}}}}
    "model/<name>/<key>"             model <name>'s state_dict()[<key>]  (e.g. model/G/0.weight)
    "optimizer/<name>/<i>/<key>"     optimizer <name>'s array state of parameter i (exp_avg, ...)

Writing is atomic (tinygen.io.save_npz_atomic: a temporary file, then a rename). Loading checks
everything -- the format marker, the names and shapes of every model and optimizer, the RNG
state -- before it assigns anything, so a wrong or damaged file leaves the models untouched.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tinygen import io
from tinygen import random as _random
from tinygen.nn.module import Module
from tinygen.optim import Optimizer

FORMAT, VERSION = "tinygen.checkpoint", 1
HEADER = "__checkpoint__"


class CheckpointError(ValueError):
    """A file that is not a readable tinygen checkpoint, or one made for other models."""


def save_checkpoint(path: str | os.PathLike, models: dict, optimizers: dict | None = None,
                    meta: dict | None = None) -> Path:
    """Write models' and optimizers' state, `meta` (JSON-serialisable: step, epoch, config...)
    and tinygen.random's RNG state to `path` atomically. Returns the path."""
    optimizers, meta = optimizers or {}, meta or {}
    _check_names(models, Module, "models")
    _check_names(optimizers, Optimizer, "optimizers")
    arrays = {f"model/{name}/{key}": value for name, model in models.items()
              for key, value in model.state_dict().items()}
    header = {"format": FORMAT, "version": VERSION, "meta": meta,
              "rng_state": _random.get_state(), "models": list(models), "optimizers": {}}
    for name, optimizer in optimizers.items():
        sd = optimizer.state_dict()
        scalars = {}
        for i, state in sd["state"].items():
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optimizer/{name}/{i}/{key}"] = value
                else:
                    scalars.setdefault(str(i), {})[key] = value
        header["optimizers"][name] = {"param_groups": sd["param_groups"], "scalars": scalars}
    try:
        arrays[HEADER] = np.array(json.dumps(header))
    except (TypeError, ValueError) as err:
        raise TypeError(f"save_checkpoint: meta must be JSON-serialisable ({err})") from None
    return io.save_npz_atomic(path, arrays)


def load_checkpoint(path: str | os.PathLike, models: dict, optimizers: dict | None = None,
                    restore_rng: bool = True) -> dict:
    """Load the named models (and optimizers) from `path` and return the saved meta.

    Every given name must be in the file (the file may hold more). All checks run before any
    assignment; on failure a CheckpointError lists every mismatching name and shape.
    restore_rng=True also restores tinygen.random's state, so a resumed run draws the same
    numbers as one that never stopped.
    """
    optimizers = optimizers or {}
    _check_names(models, Module, "models")
    _check_names(optimizers, Optimizer, "optimizers")
    arrays, header = _read(path)
    model_sds = {name: _model_state(arrays, header, name, path) for name in models}
    optim_sds = {name: _optimizer_state(arrays, header, name, path) for name in optimizers}
    problems = []
    for kind, objects, sds in (("model", models, model_sds), ("optimizer", optimizers, optim_sds)):
        for name, obj in objects.items():
            try:
                obj.check_state_dict(sds[name])
            except ValueError as err:
                problems.append(f"{kind} {name!r}: " + str(err).replace("\n", "\n  "))
    if problems:
        raise CheckpointError(f"{path}: the checkpoint does not fit the given objects:\n"
                              + "\n".join(problems))
    if restore_rng:
        _check_rng_state(header, path)
    for name, model in models.items():
        model.load_state_dict(model_sds[name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(optim_sds[name])
    if restore_rng:
        _random.set_state(header["rng_state"])
    return header["meta"]


def load_meta(path: str | os.PathLike) -> dict:
    """Just the meta dict of a checkpoint (e.g. its config, to build the models before loading)."""
    return _read(path)[1]["meta"]


def _check_names(objects, kind, what):
    if not isinstance(objects, dict):
        raise TypeError(f"{what} must be a dict of name -> {kind.__name__}, "
                        f"got {type(objects).__name__}")
    for name, obj in objects.items():
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"{what}: names must be non-empty strings without '/', got {name!r}")
        if not isinstance(obj, kind):
            raise TypeError(f"{what}[{name!r}] is a {type(obj).__name__}, not a {kind.__name__}")


def _read(path):
    """(arrays, header) of a checkpoint file, or a CheckpointError saying what is wrong."""
    try:
        arrays = io.load_npz(path)
    except io.NpzError as err:
        raise CheckpointError(f"not a readable checkpoint: {err}") from err
    if HEADER not in arrays:
        names = ", ".join(sorted(arrays)[:5]) or "nothing"
        raise CheckpointError(f"{path}: not a tinygen checkpoint (no {HEADER!r} entry; the "
                              f"archive holds {names})")
    try:
        header = json.loads(str(arrays.pop(HEADER)[()]))
    except (ValueError, TypeError, IndexError) as err:
        raise CheckpointError(f"{path}: the {HEADER!r} entry is not valid JSON ({err})") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinygen checkpoint (format marker missing)")
    if header.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {header.get('version')!r}; "
                              f"this tinygen reads version {VERSION}")
    return arrays, header


def _saved(header, kind, name, path):
    saved = header["models"] if kind == "model" else header["optimizers"]
    if name not in saved:
        raise CheckpointError(f"{path}: no {kind} named {name!r} in the checkpoint (it has "
                              f"{', '.join(map(repr, saved)) or 'none'})")


def _model_state(arrays, header, name, path):
    _saved(header, "model", name, path)
    prefix = f"model/{name}/"
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _optimizer_state(arrays, header, name, path):
    _saved(header, "optimizer", name, path)
    entry, prefix = header["optimizers"][name], f"optimizer/{name}/"
    state = {int(i): dict(scalars) for i, scalars in entry["scalars"].items()}
    for key, value in arrays.items():
        if key.startswith(prefix):
            i, field = key[len(prefix):].split("/", 1)
            state.setdefault(int(i), {})[field] = value
    return {"state": state, "param_groups": entry["param_groups"]}


def _check_rng_state(header, path):
    try:
        np.random.PCG64().state = header["rng_state"]
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: the saved RNG state is invalid ({err})") from err
