"""Reference synthesizers (CTGAN, MOSTLY AI's TabularARGN) run in virtual environments of their own.

Neither may become a dependency of ours (ctgan caps pandas below 3; mostlyai-engine pulls transformers and more), so
`run_peer` builds `bench/.<peer>-venv` on first use (CPU torch), writes the train frame to Parquet, runs this file
inside that venv with `--inner`, and reads back the synthetic rows and a JSON of timings.

    python bench/peers.py ctgan mostlyai --rows 2000 --epochs 1   # smoke run on Adult; the first one needs the registry
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH = "torch>=2.13,<2.14"  # what mostlyai-engine 2.7.3 pins; ctgan takes the same so both venvs share one wheel


@dataclass(frozen=True)
class _Peer:
    name: str
    package: str  # the pinned requirement
    # torchvision/torchaudio are pulled in for the language models only; off the CPU index their wheels are CUDA builds
    # that cannot load next to a CPU torch and break `import transformers`, so the build drops them when they fail.
    optional: tuple[str, ...] = ()  # requirements, each named by its import name

    @property
    def venv(self) -> Path:
        return BENCH / f".{self.name}-venv"


_PEERS = {
    "ctgan": _Peer("ctgan", "ctgan==0.12.1"),
    "mostlyai": _Peer("mostlyai", "mostlyai-engine==2.7.3", ("torchvision>=0.28,<0.29", "torchaudio>=2.11,<2.12")),
}
PEERS = tuple(_PEERS)


def requirement(peer: str) -> str:
    """The pinned requirement ``peer``'s venv installs (``mostlyai-engine==2.7.3``)."""
    return _PEERS[peer].package


def _log(message: str) -> None:
    print(f"[peers] {message}", file=sys.stderr, flush=True)


def ensure_venv(peer: str) -> Path:
    """The python of `peer`'s venv, built first (CPU torch, then the pinned package) if missing or half-built."""
    spec = _PEERS[peer]
    python = spec.venv / "bin" / "python"
    marker = spec.venv / ".peer-ready"
    wanted = f"{TORCH}\n{spec.package}\n"
    if marker.exists() and marker.read_text() == wanted:
        return python
    started = time.perf_counter()
    if spec.venv.exists():
        shutil.rmtree(spec.venv)
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    try:
        subprocess.run([sys.executable, "-m", "venv", str(spec.venv)], check=True)
        # Torch first, from the CPU index, so the package's own torch requirement is met without a multi-GB CUDA build.
        cpu = [*pip, "--retries", "0", "--timeout", "20", "--index-url", TORCH_CPU_INDEX, TORCH, *spec.optional]
        attempt = subprocess.run(cpu, capture_output=True, text=True)
        if attempt.returncode:
            reason = (attempt.stderr.strip().splitlines() or ["?"])[-1]
            _log(f"{peer}: no {TORCH} from the CPU index ({reason}); taking it from the default index")
            subprocess.run([*pip, TORCH], check=True)
        subprocess.run([*pip, spec.package, "pyarrow"], check=True)
        for name in (re.split(r"[<>=!~ ]", requirement)[0] for requirement in spec.optional):
            if subprocess.run([str(python), "-c", f"import {name}"], capture_output=True).returncode:
                _log(f"{peer}: {name} does not load next to this torch (a CUDA build); uninstalling it")
                subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", name], check=True)
        probe = "import torch; print(torch.__version__, torch.version.cuda)"
        built = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"building the {peer} venv at {spec.venv} failed: {error}") from error
    if built[1] == "None":  # triton (1 GB, pulled by mostlyai's xgrammar) compiles GPU kernels only
        subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "triton"], capture_output=True)
    else:
        _log(f"{peer}: torch {built[0]} is a CUDA {built[1]} build; the venv holds several GB of CUDA libraries")
    marker.write_text(wanted)
    _log(f"{peer}: built {spec.venv} with torch {built[0]} in {time.perf_counter() - started:.0f} s")
    return python


def _is_numeric(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _for_inner(train: pd.DataFrame) -> pd.DataFrame:
    """Numbers and bools as numpy columns, everything else as plain Python strings: what pandas 2 reads back cleanly."""
    import pandas as pd

    out = {}
    for name, column in train.items():
        if pd.api.types.is_bool_dtype(column) and not column.isna().any():
            out[name] = column.astype(bool)
        elif _is_numeric(column):
            whole = pd.api.types.is_integer_dtype(column) and not column.isna().any()
            out[name] = column.astype("int64" if whole else "float64")
        else:
            out[name] = pd.Series([None if pd.isna(v) else str(v) for v in column], index=column.index, dtype=object)
    return pd.DataFrame(out, index=train.index)


def _restore(synthetic: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The synthetic frame in train's columns and dtypes; a category the peer made up (mostlyai's `_RARE_`) is NaN."""
    import numpy as np
    import pandas as pd

    out = {}
    for name, dtype in train.dtypes.items():
        column = synthetic[name].reset_index(drop=True)
        if isinstance(dtype, pd.CategoricalDtype):
            by_text = {str(category): category for category in dtype.categories}
            out[name] = pd.Categorical(column.map(lambda v, m=by_text: m.get(str(v), np.nan)), dtype=dtype)
        elif pd.api.types.is_bool_dtype(dtype):
            out[name] = column.map(lambda v: str(v).lower() in ("true", "1", "1.0")).astype(dtype)
        elif pd.api.types.is_integer_dtype(dtype):
            out[name] = pd.to_numeric(column).round().astype(dtype)
        else:
            out[name] = column.astype(dtype)
    return pd.DataFrame(out)


def _stderr_tail(path: Path, lines: int = 30) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def run_peer(
    peer: str,
    train: pd.DataFrame,
    n_rows: int,
    workdir: Path,
    *,
    epochs: int | None = None,
    max_seconds: float | None = None,
    seed: int = 0,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit `peer` on `train` in its own venv (built on first use) and sample n_rows. Returns:
    {"peer", "version", "synthetic": DataFrame (same columns and dtypes as train: cast back, categoricals as
     train's categories), "fit_seconds" (wall, whole fit incl. preprocessing), "transform_fit_seconds"
     (CTGAN: its DataTransformer fit; mostlyai: analyze+encode), "epochs" (run), "training_rows_per_s"
     (rows x epochs / training seconds), "sample_seconds", "sample_rows_per_s", "peak_mem_mb" (max RSS of the inner
     process), "children_peak_mem_mb" (max RSS of its worker processes, RUSAGE_CHILDREN, or 0)}

    `epochs` defaults to 100 (CTGAN) or mostlyai's own (at most 100, early stopping); `max_seconds` caps mostlyai's
    training time (CTGAN has none). `settings`: keywords for CTGAN's constructor (its network sizes), CTGAN only.
    Extra keys: "training_seconds", "training_rows" (mostlyai trains on 80% and
    validates on the rest), "rows", and for mostlyai "rare_values" (cells it wrote as `_RARE_`). Files and logs go
    to workdir/<peer>/, which is emptied first.
    """
    import pandas as pd

    if peer not in _PEERS:
        raise ValueError(f"unknown peer {peer!r}; expected one of {PEERS}")
    if settings and peer != "ctgan":
        raise ValueError(f"settings are CTGAN's constructor keywords; {peer!r} takes none")
    python = ensure_venv(peer)
    workdir = Path(workdir) / peer
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    _for_inner(train).reset_index(drop=True).to_parquet(workdir / "train.parquet", index=False)
    request = {
        "n_rows": n_rows,
        "epochs": epochs,
        "max_seconds": max_seconds,
        "seed": seed,
        "settings": settings or {},
        "discrete": [str(name) for name, column in train.items() if not _is_numeric(column)],
    }
    (workdir / "request.json").write_text(json.dumps(request))
    # A clean environment: no PYTHONPATH that could put our packages (pandas 3) in front of the peer's.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    stderr = workdir / "stderr.log"
    with (workdir / "stdout.log").open("w") as out, stderr.open("w") as err:
        # -P: the script's folder (bench/) stays off sys.path inside the peer's venv.
        command = [str(python), "-P", str(Path(__file__).resolve()), "--inner", peer, str(workdir)]
        returncode = subprocess.run(command, stdout=out, stderr=err, env=env).returncode
    if returncode:
        raise RuntimeError(f"peer {peer!r} failed (exit {returncode}); the end of {stderr}:\n{_stderr_tail(stderr)}")
    figures: dict[str, Any] = json.loads((workdir / "figures.json").read_text())
    synthetic = pd.read_parquet(workdir / "synthetic.parquet")
    figures["synthetic"] = _restore(synthetic, train)
    return figures


# ---- inside the peer's venv ----


def _max_rss_mb(who: int) -> float:
    import resource

    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _inner_ctgan(train: Any, request: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from ctgan import CTGAN
    from ctgan.synthesizers import ctgan as ctgan_module

    marks: dict[str, float] = {}

    class TimedTransformer(ctgan_module.DataTransformer):  # type: ignore[misc]
        """CTGAN's DataTransformer, noting when its fit starts and ends and when the transform ends."""

        def fit(self, *args: Any, **kwargs: Any) -> Any:
            marks["fit_start"] = time.perf_counter()
            result = super().fit(*args, **kwargs)
            marks["fit_end"] = time.perf_counter()
            return result

        def transform(self, *args: Any, **kwargs: Any) -> Any:
            result = super().transform(*args, **kwargs)
            marks.setdefault("transform_end", time.perf_counter())
            return result

    ctgan_module.DataTransformer = TimedTransformer
    epochs = request["epochs"] or 100
    # without settings: (256, 256) networks, noise 128, critic on packs of 10, batch 500: CTGAN's defaults
    model = CTGAN(epochs=epochs, verbose=False, enable_gpu=False, **request["settings"])
    model.set_random_state(request["seed"])
    fit_start = time.perf_counter()
    model.fit(train, discrete_columns=request["discrete"])
    fit_end = time.perf_counter()
    synthetic, sample_seconds = _timed(lambda: model.sample(request["n_rows"]))
    figures = {
        "fit_seconds": fit_end - fit_start,
        "transform_fit_seconds": marks["fit_end"] - marks["fit_start"],
        "training_seconds": fit_end - marks["transform_end"],  # sampler and networks built, then the epochs
        "epochs": len(model.loss_values) if model.loss_values is not None else epochs,
        "training_rows": len(train),
        "sample_seconds": sample_seconds,
    }
    return synthetic, figures


def _inner_mostlyai(train: Any, request: dict[str, Any], workdir: Path) -> tuple[Any, dict[str, Any]]:
    import pandas as pd
    from mostlyai import engine

    ws = workdir / "mostlyai-ws"
    engine.set_random_state(request["seed"])
    train_kwargs: dict[str, Any] = {"device": "cpu", "workspace_dir": ws}  # TabularARGN, early stopping: defaults
    if request["epochs"] is not None:
        train_kwargs["max_epochs"] = request["epochs"]
    if request["max_seconds"] is not None:
        train_kwargs["max_training_time"] = request["max_seconds"] / 60  # minutes
    fit_start = time.perf_counter()
    engine.split(tgt_data=train, model_type="TABULAR", workspace_dir=ws)
    _, analyze_seconds = _timed(lambda: engine.analyze(workspace_dir=ws))
    _, encode_seconds = _timed(lambda: engine.encode(workspace_dir=ws))
    _, training_seconds = _timed(lambda: engine.train(**train_kwargs))
    fit_seconds = time.perf_counter() - fit_start
    _, sample_seconds = _timed(lambda: engine.generate(sample_size=request["n_rows"], device="cpu", workspace_dir=ws))
    synthetic = pd.read_parquet(ws / "SyntheticData")
    progress = pd.read_csv(ws / "ModelStore" / "model-data" / "progress-messages.csv")
    stats = json.loads((ws / "ModelStore" / "tgt-stats" / "stats.json").read_text())
    figures = {
        "fit_seconds": fit_seconds,
        "transform_fit_seconds": analyze_seconds + encode_seconds,
        "training_seconds": training_seconds,
        "epochs": float(progress["epoch"].max()),
        "training_rows": int(stats["no_of_training_records"]),  # its own 80% split; the rest is for validation
        "sample_seconds": sample_seconds,
        # value protection (a default) writes categories seen too rarely as this token; _restore keeps or drops it
        "rare_values": int((synthetic.astype(str) == "_RARE_").to_numpy().sum()),
    }
    return synthetic, figures


def inner(peer: str, workdir: Path) -> None:
    import resource
    from importlib.metadata import version

    import pandas as pd

    request = json.loads((workdir / "request.json").read_text())
    train = pd.read_parquet(workdir / "train.parquet")
    if peer == "ctgan":
        synthetic, figures = _inner_ctgan(train, request)
    else:
        synthetic, figures = _inner_mostlyai(train, request, workdir)
    synthetic.to_parquet(workdir / "synthetic.parquet", index=False)
    figures.update(
        peer=peer,
        version=version(_PEERS[peer].package.split("==")[0]),
        rows=len(train),
        training_rows_per_s=figures["training_rows"] * figures["epochs"] / figures["training_seconds"],
        sample_rows_per_s=request["n_rows"] / figures["sample_seconds"],
        peak_mem_mb=_max_rss_mb(resource.RUSAGE_SELF),
        children_peak_mem_mb=_max_rss_mb(resource.RUSAGE_CHILDREN),
    )
    (workdir / "figures.json").write_text(json.dumps(figures, indent=2))


def main() -> None:
    import tempfile

    import pandas as pd

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("peers", nargs="*", default=list(PEERS), choices=PEERS)
    parser.add_argument("--rows", type=int, default=2000, help="Adult training rows to fit on")
    parser.add_argument("--n-rows", type=int, default=1000, help="synthetic rows to sample")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=None)
    args = parser.parse_args()
    train = pd.read_parquet(ROOT / "data" / "adult" / "adult_train.parquet").head(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        for peer in args.peers:
            result = run_peer(peer, train, args.n_rows, Path(tmp), epochs=args.epochs, max_seconds=args.max_seconds)
            synthetic = result.pop("synthetic")
            assert list(synthetic.dtypes) == list(train.dtypes), "dtypes differ from train's"
            print(json.dumps(result, indent=2))
            print(synthetic.head(3).to_string())


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--inner":
        inner(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
