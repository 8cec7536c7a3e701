"""Numbers another number bounds: found only where every real row keeps the bound and chance would not, modelled as
their share of it, and never above it in a generated row, across a save; a private fit finds none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synth import TabularSynthesizer, infer_schema
from synth.tabular import shares
from synth.tabular.codecs import NumericCodec
from synth.tabular.shares import Share, find_shares, resolution_order
from synth.tabular.transformer import TableTransformer
from tests.conftest import TINY_FIT, reloaded


def seasons(rows: int = 2_000, seed: int = 0) -> pd.DataFrame:
    """At-bats, hits among them, doubles among the hits, walks of their own, and a season's share of a 1,000-game
    career (below the career in every row, but so far below that any row's would be)."""
    rng = np.random.default_rng(seed)
    at_bats = rng.poisson(300, rows) * (rng.random(rows) < 0.9)  # a tenth never bat
    hits = rng.binomial(at_bats, 0.26)
    return pd.DataFrame({
        "doubles": rng.binomial(hits, 0.2),
        "hits": hits,
        "at_bats": at_bats,
        "walks": rng.poisson(30, rows),
        "games": rng.integers(1, 163, rows),
        "career": rng.integers(1_000, 3_000, rows),
    })  # fmt: skip


def bounds(frame: pd.DataFrame) -> dict[str, str]:
    """column -> bound, in resolution order."""
    return {s.column: s.bound for s in resolution_order(find_shares(frame, infer_schema(frame)))}


def test_each_bounded_number_takes_its_tightest_bound_and_bounds_resolve_first() -> None:
    found = bounds(seasons())
    assert found == {"hits": "at_bats", "doubles": "hits"}  # not doubles under at-bats: hits bound them closer
    assert list(found) == ["hits", "doubles"]


def test_a_bound_broken_once_a_negative_value_or_a_missing_bound_makes_no_share() -> None:
    frame = seasons()
    frame.loc[1_500, "hits"] = frame.loc[1_500, "at_bats"] + 1  # past the first rows screened
    assert "hits" not in bounds(frame)
    frame = seasons().astype({"doubles": float, "hits": float})
    frame.loc[3, "doubles"] = -1.0
    assert bounds(frame) == {"hits": "at_bats"}
    frame = seasons().astype({"hits": float})
    frame.loc[4, "hits"] = np.nan  # doubles are present where hits are not: at-bats bound them
    assert bounds(frame) == {"hits": "at_bats", "doubles": "at_bats"}


def test_trying_every_pair_at_once_keeps_each_bound_a_pair_by_pair_search_finds() -> None:
    """Sixty rare counts, some within another in every row (their positive rows a subset), some in every row but one:
    the screen that tries every pair at once on a few rows rules out no bound the search of each pair keeps."""
    rng = np.random.default_rng(2)
    rows = 3_000
    frame = pd.DataFrame(
        {f"n{i}": rng.poisson(rng.uniform(0.5, 20), rows) * (rng.random(rows) < 0.1) for i in range(60)}
    )
    for i in range(0, 60, 4):
        frame[f"n{i + 1}"] = rng.binomial(frame[f"n{i}"], 0.5)  # within n{i}
        frame[f"n{i + 3}"] = rng.binomial(frame[f"n{i + 2}"], 0.5)
        frame.loc[2_000 + i, f"n{i + 3}"] = frame.loc[2_000 + i, f"n{i + 2}"] + 1  # past n{i + 2} in one row
    schema = infer_schema(frame)
    reference_rng = np.random.default_rng(0)
    expected = []
    for name in frame.columns:
        tightest = None
        for bound in frame.columns:
            values, limits = frame[name].to_numpy(float), frame[bound].to_numpy(float)
            if bound == name or not shares._bounds(values, limits):
                continue
            mean = shares._mean_share(values, limits, reference_rng)
            if mean is not None and (tightest is None or mean > tightest[0]):
                tightest = (mean, bound)
        if tightest is not None:
            expected.append(Share(name, tightest[1]))
    assert find_shares(frame, schema) == expected and len(expected) >= 15


def test_share_of_and_resolve() -> None:
    frame = pd.DataFrame({"hits": [1.0, 0.0, None, 3.0, 0.0], "at_bats": [4.0, 0.0, 5.0, 3.0, 2.0]})
    shares = Share("hits", "at_bats").of(frame, np.random.default_rng(0))
    assert shares[0] == 0.25 and np.isnan(shares[2]) and shares[3] == 1.0 and shares[4] == 0.0
    assert shares[1] in {0.25, 1.0, 0.0}  # no at-bats: a share drawn from the other rows'
    codec = NumericCodec("integer", [], 0.0, 3.0, True, 1.0)
    resolved = Share("hits", "at_bats").resolve(np.array([0.26, 1.0, np.nan, 0.99]), np.array([10, 2.5, 3, 9]), codec)
    np.testing.assert_array_equal(resolved, [3.0, 2.0, np.nan, 3.0])  # on the grid, under the bound, in range


def test_generated_rows_never_pass_a_bound_across_a_save(tmp_path) -> None:
    frame = seasons()
    model = TabularSynthesizer(seed=0, **TINY_FIT).fit(frame)
    assert [(s.column, s.bound) for s in model.transformer_.shares_] == [("hits", "at_bats"), ("doubles", "hits")]
    rows = model.sample(2_000, seed=1)
    assert rows.dtypes.equals(frame.dtypes)
    assert (rows["hits"] <= rows["at_bats"]).all() and (rows["doubles"] <= rows["hits"]).all()
    assert (rows["hits"] > 0).mean() > 0.5 and rows["hits"].max() <= frame["hits"].max()

    picked = model.sample(100, conditions={"hits": (50, 80)}, seed=2, max_tries=50)  # drawn and checked
    assert len(picked) == 100 and picked["hits"].between(50, 80).all()

    assert reloaded(model, tmp_path / "m").transformer_.shares_ == model.transformer_.shares_


def test_the_transformer_keeps_each_columns_own_codec_beside_its_shares() -> None:
    """What a column may hold (contracts, conditions) is read off its own values, not off its share."""
    frame = seasons()
    transformer = TableTransformer(infer_schema(frame), rare_category_min=5).fit(frame, np.random.default_rng(0))
    own = transformer.codecs_[transformer.schema.names.index("hits")]
    assert isinstance(own, NumericCodec) and own.high > 50
    assert transformer.encoders[transformer.schema.names.index("hits")] is transformer.relative_codecs_["hits"]
    again = TableTransformer.from_dict(transformer.schema, transformer.to_dict())
    assert again.shares_ == transformer.shares_ and again.width == transformer.width
    encoded = transformer.transform(frame, np.random.default_rng(1))
    assert encoded.shape == (len(frame), transformer.width)


def test_a_private_fit_reads_no_shares_off_the_rows() -> None:
    model = TabularSynthesizer(seed=0, epsilon=5.0, **TINY_FIT).fit(seasons(rows=1_000))
    assert model.transformer_.shares_ == [] and model.transformer_.relative_codecs_ == {}


@pytest.mark.parametrize("rows", [0, 1, 50])
def test_small_tables_have_no_shares(rows: int) -> None:
    assert find_shares(seasons().iloc[:rows], infer_schema(seasons())) == []
