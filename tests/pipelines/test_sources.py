"""Reading sources: CSV and Parquet come in with their types; checksums follow the bytes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from pipelines.sources import file_sha256, read_source
from synth import TabularSynthesizer, infer_schema


def test_csv_is_read_with_types_and_nulls(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    lines = ["id,age,score,city,joined"] + [
        f"{i},{20 + i % 50},{'' if i % 10 == 0 else i / 3:.4},{'' if i % 7 == 0 else ['Oslo', 'Lima'][i % 2]},"
        f"2024-01-{1 + i % 28:02d}"
        for i in range(1, 101)
    ]
    path.write_text("\n".join(lines).replace(",nan,", ",,") + "\n", encoding="utf-8")
    table = read_source(path)
    assert table.num_rows == 100
    assert pa.types.is_integer(table.schema.field("age").type)
    assert table.column("city").null_count == 14
    kinds = {c.name: c.kind for c in infer_schema(table)}
    assert kinds == {"id": "id", "age": "integer", "score": "continuous", "city": "categorical", "joined": "datetime"}
    model = TabularSynthesizer(epochs=1, batch_size=50, seed=0, device="cpu").fit(table)
    out = pa.Table.from_pandas(model.sample(30, seed=1), schema=model.schema_.arrow_schema(), preserve_index=False)
    assert out.schema.remove_metadata() == table.schema.remove_metadata()  # dates stay date32, text stays string


def test_checksum_changes_with_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a\n1\n")
    before = file_sha256(path)
    path.write_text("a\n2\n")
    assert file_sha256(path) != before
