"""What a network can do beyond its forward pass, declared by its class rather than probed for.

    isinstance(generator, StyleBased)       a mapping network and a synthesis network taking one w per
                                            layer (style mixing, walks in W, truncation towards w_avg)
    isinstance(generator, ClassEmbedded)    a class-conditional generator with a class embedding
                                            (walks between classes)
    isinstance(network, Growing)            a network that grows (ProGAN's fade-ins: set_growth)
    isinstance(generator, Truncating)       a truncation trick (gan-sample truncation=): its `truncation`
    isinstance(generator, SpectrogramBased) an audio generator that makes spectrograms (SpecGAN): its
                                            `representation` and `to_audio`

The training objectives, gan-sample and gan-interp ask these, never whether an attribute exists.
"""

from __future__ import annotations


class StyleBased:
    """A generator with `mapping` (z -> w), `synthesis` (ws -> image), `num_ws` and the tracked `w_avg`."""

    num_ws: int


class ClassEmbedded:
    """A class-conditional generator with `class_embedding(labels)` and `num_classes`."""

    num_classes: int


class Truncating:
    """A generator with a truncation trick: `truncation` says which ("w_average": psi towards the tracked
    average w, StyleGAN2; "resample_z": z entries beyond a threshold drawn again, BigGAN)."""

    truncation: str


class Growing:
    """A network that grows: `set_growth(stage, alpha)` (its layers of later stages get no gradient yet)."""

    has_unused_parameters = True  # DDP must allow parameters without gradients


class SpectrogramBased:
    """An audio generator that makes spectrograms: `representation` turns real clips into what it makes
    (fit to the training clips first: `representation.fit(clips)`), `to_audio(spectrograms)` turns them
    back into clips (N, 1, samples)."""

    representation: object

    def to_audio(self, spectrograms):
        raise NotImplementedError
