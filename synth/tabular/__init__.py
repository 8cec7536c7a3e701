"""The tabular conditional GAN: transformer, sampler, networks, training and the synthesizer."""

from synth.tabular.synthesizer import TabularSynthesizer
from synth.tabular.training import EpochStats

__all__ = ["EpochStats", "TabularSynthesizer"]
