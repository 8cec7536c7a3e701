"""Sequential output heads: the stages they are drawn in, heads that read only the values of earlier stages, the same
rows as the all-at-once heads while nothing reads the memory, sampling that draws the numbers the trained module
computes and carries a drawn value to a later column, and a fit that learns a one-to-one relation between two
columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from synth import TabularSynthesizer
from synth.tabular.layout import MAX_GROUPS, OutputLayout
from synth.tabular.networks import TabularGenerator
from synth.tabular.sampling import FoldedGenerator

# column 0: a number (scalar, 2 modes, null flag); column 1: a 3-way category; column 2: a number (scalar, 1 mode)
SPANS = [(0, 1, "tanh"), (1, 2, "softmax"), (3, 2, "softmax"), (5, 3, "softmax"), (8, 1, "tanh"), (9, 1, "softmax")]
COLUMNS = [0, 0, 0, 1, 2, 2]
WIDTH = 10


def _layout() -> OutputLayout:
    return OutputLayout(SPANS, [(5, 3)], torch.device("cpu"), COLUMNS)


def test_a_columns_one_hot_heads_come_before_its_scalar() -> None:
    # column 0's null flag and mode, then its scalar; column 1; column 2's mode, then its scalar
    assert _layout().stage_of == [1, 0, 0, 2, 4, 3]


def test_a_wide_table_is_drawn_in_a_bounded_number_of_stages() -> None:
    """100 numbers with nulls (300 heads): at most two stages per group, the columns in table order."""
    spans = [
        span for c in range(100) for span in ((5 * c, 1, "tanh"), (5 * c + 1, 2, "softmax"), (5 * c + 3, 2, "softmax"))
    ]
    columns = [c for c in range(100) for _ in range(3)]
    layout = OutputLayout(spans, [], torch.device("cpu"), columns)
    assert len(layout.stages) == 2 * MAX_GROUPS
    stage_of_column = [max(layout.stage_of[3 * c : 3 * c + 3]) for c in range(100)]
    assert stage_of_column == sorted(stage_of_column)
    assert all(layout.stage_of[3 * c] > layout.stage_of[3 * c + 1] for c in range(100))  # the value after its mode


def test_a_memory_nobody_reads_gives_the_all_at_once_activation() -> None:
    layout = _layout()
    raw = torch.randn(200, WIDTH, generator=torch.Generator().manual_seed(0)) * 2
    uniform = torch.rand(200, layout.gumbel_width, generator=torch.Generator().manual_seed(1))
    gumbel = -torch.log(-torch.log(uniform))
    write = torch.randn(WIDTH, 8, generator=torch.Generator().manual_seed(2))
    completed, activated = layout.activate_in_order(raw, gumbel, write, torch.zeros(8, WIDTH))
    torch.testing.assert_close(completed, raw)
    torch.testing.assert_close(activated, layout.activate(raw, gumbel))


def test_a_head_reads_only_the_values_drawn_before_it() -> None:
    """With every memory read set, each head's logits move only with the heads of earlier stages."""
    layout = _layout()
    raw = torch.randn(50, WIDTH, generator=torch.Generator().manual_seed(0))
    write = torch.randn(WIDTH, 8, generator=torch.Generator().manual_seed(1))
    read = torch.randn(8, WIDTH, generator=torch.Generator().manual_seed(2))
    gumbel = torch.zeros(50, layout.gumbel_width)
    completed, _ = layout.activate_in_order(raw, gumbel, write, read)
    for number, (start, width, kind) in enumerate(SPANS):
        if kind == "softmax" and width == 1:
            continue  # a one-slot head's value is always 1
        changed = raw.clone()
        changed[:, start : start + width] += torch.linspace(1.0, 4.0, width)  # changes this head's drawn value
        again, _ = layout.activate_in_order(changed, gumbel, write, read)
        for other, (other_start, other_width, _) in enumerate(SPANS):
            moved = not torch.allclose(
                again[:, other_start : other_start + other_width] - changed[:, other_start : other_start + other_width],
                completed[:, other_start : other_start + other_width] - raw[:, other_start : other_start + other_width],
                atol=1e-4,
            )
            assert moved == (layout.stage_of[other] > layout.stage_of[number])


def test_sampling_draws_the_numbers_the_trained_module_computes() -> None:
    """Three numbers of one mode each, in six stages, each reading the ones before: the folded sampler and the module
    that training runs give the same values."""
    spans = [(2 * c + offset, 1, kind) for c in range(3) for offset, kind in ((0, "tanh"), (1, "softmax"))]
    layout = OutputLayout(spans, [], torch.device("cpu"), [0, 0, 1, 1, 2, 2])
    assert len(layout.stages) == 6
    net = TabularGenerator(4, 0, (8,), 6, generator=torch.Generator().manual_seed(0), sequential=True)
    with torch.no_grad():
        net.read.normal_(0.0, 0.1, generator=torch.Generator().manual_seed(1))
    net.eval()
    noise = torch.randn(100, 4, generator=torch.Generator().manual_seed(2))
    gumbel = torch.zeros(100, layout.gumbel_width)
    with torch.no_grad():
        _, module_rows = net.rows(noise, gumbel, layout)
        unread, _ = layout.activate_in_order(net(noise), gumbel, net.write, torch.zeros_like(net.read))
    folded_values = FoldedGenerator(net, layout, 4, torch.float32).draw(noise, None, torch.Generator())
    module_values = module_rows[:, layout.scalars]
    torch.testing.assert_close(folded_values[:, layout.scalar_spans], module_values, rtol=1e-5, atol=1e-5)
    assert (module_values - torch.tanh(unread[:, layout.scalars])).abs().amax(dim=0).min() > 0.01  # reads move all


def _pairs(rows: int, seed: int) -> pd.DataFrame:
    """``b`` is a function of ``a`` (a code for each level, as education and its number) but in the last row, so the
    generator has to learn it (an exact dependency would be written after decoding, ``find_dependencies``, and the
    near one is a group, ``find_groups``, which the tests set aside); ``x`` is noise."""
    rng = np.random.default_rng(seed)
    a = rng.choice(list("pqrstuvw"), rows)
    mapping = dict(zip("pqrstuvw", ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"], strict=True))
    b = [mapping[v] for v in a]
    b[-1] = "w1" if b[-1] != "w1" else "w2"
    return pd.DataFrame({"a": a, "b": b, "x": rng.normal(size=rows)})


def test_sampling_carries_each_drawn_value_through_the_memory() -> None:
    """A generator whose memory says "b copies a" samples b = f(a) on every row, whatever its other weights say."""
    frame = _pairs(400, 0)
    model = TabularSynthesizer(epochs=1, seed=0, validation_share=0).fit(frame)
    model.transformer_.groups_ = []  # b keyed by a is a group; here only the generator's draw is under test
    (_, a_start, a_codec), (_, b_start, b_codec) = model.transformer_.discrete_columns()
    copy = {"p": "w1", "q": "w2", "r": "w3", "s": "w4"}  # the other levels of a all give w5
    net = model.generator_
    with torch.no_grad():
        net.write.zero_()
        net.read.zero_()
        for k, level in enumerate(a_codec.levels):
            net.write[a_start + a_codec.index_of(level), k] = 1.0  # a's drawn level is memory entry k
            net.read[k, b_start + b_codec.index_of(copy.get(level, "w5"))] = 100.0
    rows = model.sample(2000, seed=1)
    assert (rows["b"] == rows["a"].map(copy).fillna("w5")).all()
    assert rows["a"].nunique() == 8  # a itself is still drawn from the generator


def test_a_fit_learns_a_one_to_one_relation_between_two_columns() -> None:
    frame = _pairs(3000, 1)
    model = TabularSynthesizer(epochs=40, batch_size=200, learning_rate=1e-3, seed=0, validation_share=0).fit(frame)
    model.transformer_.groups_ = []  # what the generator learned, not what a group would write
    rows = model.sample(3000, seed=2)
    mapping = dict(zip(frame["a"].iloc[:-1], frame["b"].iloc[:-1], strict=True))
    consistent = float((rows["a"].map(mapping) == rows["b"]).mean())
    assert consistent >= 0.97, consistent


# one column: its scalar, then one-hot heads of widths 2, 40, 3 and 2, drawn in one stage of three width classes
WIDE_SPANS = [(0, 1, "tanh"), (1, 2, "softmax"), (3, 40, "softmax"), (43, 3, "softmax"), (46, 2, "softmax")]


def test_a_stage_pads_each_width_class_apart() -> None:
    """Two-slot heads beside a 40-slot one pad to two slots (47 slots, where one padded block held 160), and the
    activation is still the all-at-once one while nothing reads the memory."""
    layout = OutputLayout(WIDE_SPANS, [], torch.device("cpu"), [0] * 5)
    (heads,) = [stage for stage in layout.stages if not stage.scalar]
    assert sum(len(block.padded) for block in heads.blocks) == 47
    raw = torch.randn(300, 48, generator=torch.Generator().manual_seed(0)) * 2
    gumbel = -torch.log(-torch.log(torch.rand(300, layout.gumbel_width, generator=torch.Generator().manual_seed(1))))
    write = torch.randn(48, 8, generator=torch.Generator().manual_seed(2))
    completed, activated = layout.activate_in_order(raw, gumbel, write, torch.zeros(8, 48))
    torch.testing.assert_close(completed, raw)
    torch.testing.assert_close(activated, layout.activate(raw, gumbel))


def test_sampling_a_stage_of_several_width_classes_draws_each_head_and_writes_its_slot() -> None:
    """Each head's draws follow its softmax, and the scalar drawn after them reads the slot the 3-slot head drew."""
    layout = OutputLayout(WIDE_SPANS, [], torch.device("cpu"), [0] * 5)
    net = TabularGenerator(4, 0, (8,), 48, generator=torch.Generator().manual_seed(0), sequential=True)
    logits = torch.randn(48, generator=torch.Generator().manual_seed(1))
    read_back = torch.tensor([-1.0, 0.2, 0.9])  # what the scalar reads for each slot of the 3-slot head
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.copy_(logits)
        net.head.bias[0] = 0.0
        net.write.zero_()
        net.read.zero_()
        for slot in range(3):
            net.write[43 + slot, slot] = 1.0
            net.read[slot, 0] = read_back[slot]
    net.eval()
    rows = 40_000
    noise = torch.randn(rows, 4, generator=torch.Generator().manual_seed(2))
    values = FoldedGenerator(net, layout, 4, torch.float32).draw(noise, None, torch.Generator().manual_seed(3))
    for span, (start, width, kind) in enumerate(WIDE_SPANS):
        if kind == "softmax":
            shares = torch.bincount(values[:, span].long(), minlength=width).float() / rows
            assert len(shares) == width  # no draw lands on a padding slot
            torch.testing.assert_close(shares, torch.softmax(logits[start : start + width], 0), atol=0.01, rtol=0)
    torch.testing.assert_close(values[:, 0], torch.tanh(read_back[values[:, 3].long()]))
