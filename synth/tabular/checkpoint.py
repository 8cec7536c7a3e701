"""Training checkpoints on disk: written atomically, and used only by a fit of the same settings on the same data."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from synth.tabular.training import EpochStats, TrainingState

__all__ = ["CHECKPOINT_FILE", "CheckpointFile", "fingerprint"]

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "training-checkpoint.pt"
#: Changes whenever the networks' shapes or the encoded training rows change, so a checkpoint written by other code
#: is started afresh rather than failing to load or going on from rows encoded otherwise (7: a column of at most 64
#: values mostly on heaps is all spikes, so its encoding and the networks' widths changed).
STATE_FORMAT = 7


def fingerprint(settings: dict[str, Any], schema_json: str, frame: pd.DataFrame) -> str:
    """What is being trained: the training settings, the schema and the rows' values, hashed."""
    digest = hashlib.sha256(
        json.dumps({**settings, "state_format": STATE_FORMAT}, sort_keys=True, default=str).encode()
    )
    digest.update(schema_json.encode())
    digest.update(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    """The one checkpoint of the fit identified by ``identity`` in ``folder``."""

    folder: Path
    identity: str

    @property
    def path(self) -> Path:
        return self.folder / CHECKPOINT_FILE

    def save(self, seed: int, state: TrainingState) -> None:
        """Write a temporary file, sync it, then rename it over the last checkpoint: a kill mid-write keeps that one."""
        payload = {
            "fingerprint": self.identity,
            "seed": seed,
            "epoch": state.epoch,
            "generator": state.generator,
            "discriminator": state.discriminator,
            "generator_optimizer": state.generator_optimizer,
            "discriminator_optimizer": state.discriminator_optimizer,
            "rng_state": state.rng_state,
            "history": [asdict(stats) for stats in state.history],
            "best_generator": state.best_generator,
            "best_epoch": state.best_epoch,
            "average_generator": state.average_generator,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{CHECKPOINT_FILE}.{secrets.token_hex(4)}"
        try:
            with partial.open("wb") as out:
                torch.save(payload, out)
                out.flush()
                os.fsync(out.fileno())  # on a preempted machine the rename must not outlive the data
            os.replace(partial, self.path)
        finally:
            partial.unlink(missing_ok=True)

    def load(self) -> tuple[int, TrainingState] | None:
        """The seed and state saved by the same fit, or None (with a warning when a checkpoint was there but unusable).

        Tensors load on the CPU: ``load_state_dict`` moves them to the parameters' device, and the optimisers'
        step counters must stay on the CPU (a step counter on the GPU costs a host sync per parameter per step).
        """
        if not self.path.is_file():
            return None
        try:
            payload = torch.load(self.path, map_location="cpu", weights_only=True)
            found = payload["fingerprint"]
            state = TrainingState(
                epoch=int(payload["epoch"]),
                generator=payload["generator"],
                discriminator=payload["discriminator"],
                generator_optimizer=payload["generator_optimizer"],
                discriminator_optimizer=payload["discriminator_optimizer"],
                rng_state=payload["rng_state"],
                history=tuple(EpochStats(**stats) for stats in payload["history"]),
                best_generator=payload["best_generator"],
                best_epoch=int(payload["best_epoch"]),
                average_generator=payload["average_generator"],
            )
            seed = int(payload["seed"])
        except Exception as exc:  # any damage to the file means: train from the start, never crash on it
            log.warning("ignoring unreadable checkpoint %s (%s); training from the start", self.path, exc)
            return None
        if found != self.identity:
            log.warning(
                "ignoring checkpoint %s: it was made with other settings or data; training from the start", self.path
            )
            return None
        return seed, state

    def remove(self) -> None:
        """Delete the checkpoint and any partial file a kill mid-write left; the folder stays (it may be shared)."""
        self.path.unlink(missing_ok=True)
        for partial in self.folder.glob(f".{CHECKPOINT_FILE}.*"):
            partial.unlink(missing_ok=True)
