"""Great Expectations data contracts: a new real batch against the last published version's input contract, and
the synthetic set against the contract built from its training rows and limited to what the model may emit."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import ContractViolation
from pipelines.publish import version_numbers
from pipelines.settings import Intake
from pipelines.store import Store
from synth import Schema
from synth.tabular.codecs import CategoricalCodec, Codec, NumericCodec

__all__ = [
    "INPUT_CONTRACT",
    "SYNTHETIC_CONTRACT",
    "ContractView",
    "check_input_contract",
    "check_synthetic_contract",
    "contract_failure",
]

INPUT_CONTRACT = "input-contract.json"
SYNTHETIC_CONTRACT = "synthetic-contract.json"


@dataclass(frozen=True, slots=True)
class ContractView:
    """What a contract checks: the training rows and the measured sample as frames (an image set's labels and
    sizes: the pixels are measured, not contracted), their schema, and a tabular model's codecs by column."""

    train: pd.DataFrame
    sample: pd.DataFrame
    schema: Schema
    codecs: Mapping[str, Codec] | None = None


def check_input_contract(intake: Intake, frame: pd.DataFrame) -> None:
    """A new real batch must keep the contract recorded with the dataset's last published version, if any."""
    store = Store.open(intake.output)
    numbers = version_numbers(store, intake.name)
    if not numbers or not store.exists(intake.name, f"v{numbers[-1]}", INPUT_CONTRACT):
        return
    from validators.expectations import validate_contract

    contract = json.loads(store.read_bytes(intake.name, f"v{numbers[-1]}", INPUT_CONTRACT))
    result = validate_contract(frame, contract)
    if not result.success:
        raise ContractViolation(
            f"{intake.source} breaks the data contract of {intake.name} v{numbers[-1]} "
            f"({len(result.failures)} of {result.evaluated} expectations failed): " + "; ".join(result.failures[:5])
        )


def check_synthetic_contract(
    view: ContractView, expected_rows: int, produced_rows: int, run_dir: Path, *, private: bool = False
) -> tuple[tuple[str, ...], dict[str, Path]]:
    """Validate the measured sample of the synthetic set against the contract built from the training rows, and
    the exact row count of the whole set; write both contracts, the result and GX's data docs into the run folder.
    With a model's codecs the contract's ranges and category sets are the model's (see ``_limit_to_model``).
    Returns the broken expectations (none: it held) and the files.
    """
    from validators.expectations import build_contract, validate_contract

    contract = build_contract(view.train, view.schema, kind="synthetic", rows=len(view.sample))
    if view.codecs is not None:
        _limit_to_model(contract, view.codecs, private=private)
    input_contract = build_contract(view.train, view.schema, kind="input")
    (run_dir / INPUT_CONTRACT).write_text(json.dumps(input_contract, indent=2))
    (run_dir / SYNTHETIC_CONTRACT).write_text(json.dumps(contract, indent=2, default=str))
    result = validate_contract(view.sample, contract, docs_dir=run_dir / "data-docs")
    (run_dir / "contract-result.json").write_text(json.dumps(result.raw, indent=2, default=str))
    files = {name: run_dir / name for name in (INPUT_CONTRACT, SYNTHETIC_CONTRACT, "contract-result.json")}
    files["data-docs"] = run_dir / "data-docs"
    broken = result.failures
    if produced_rows != expected_rows:
        broken = (f"the synthetic set has {produced_rows} rows; {expected_rows} were asked for", *broken)
    return broken, files


def _limit_to_model(contract: dict[str, Any], codecs: Mapping[str, Codec], *, private: bool) -> None:
    """The published contract allows what the model may emit (its protected, public or differentially private
    bounds, the categories it kept and what rare ones decode to), never the real extremes or rare values."""
    if private:  # the real null shares are statistics the accountant never saw: no expectation may publish them
        contract["expectations"] = [
            e
            for e in contract["expectations"]
            if e["type"] != "expect_column_proportion_of_non_null_values_to_be_between"
        ]
    for expectation in contract["expectations"]:
        kwargs = expectation["kwargs"]
        codec = codecs.get(kwargs.get("column", ""))
        if expectation["type"] == "expect_column_values_to_be_between" and isinstance(codec, NumericCodec):
            kwargs["min_value"], kwargs["max_value"] = codec.low, codec.high
        elif expectation["type"] == "expect_column_values_to_be_in_set" and isinstance(codec, CategoricalCodec):
            kwargs["value_set"] = [value for value in (*codec.levels, *codec.pooled) if value is not None]


def contract_failure(broken: tuple[str, ...], enforce: bool) -> str | None:
    """Why publishing must stop (an enforced contract broke), or None."""
    if not broken or not enforce:
        return None
    return f"synthetic set breaks its data contract ({len(broken)} expectations), nothing published: " + "; ".join(
        broken[:5]
    )
