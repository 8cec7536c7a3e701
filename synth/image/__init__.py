"""The class-conditional image GAN: networks, differentiable augmentation, training and the synthesizer."""

from synth.image.synthesizer import ImageSynthesizer
from synth.image.training import ImageEpochStats

__all__ = ["ImageEpochStats", "ImageSynthesizer"]
