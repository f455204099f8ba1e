"""Sample-quality evaluation: FID/KID/IS/precision-recall on Inception-v3 or the offline digits
classifier, and the VEEGAN/PacGAN mode metrics on the 2-D mixtures, each with its protocol."""

from gan_cli.eval.evaluator import Evaluator, evaluate, resolve_settings

__all__ = ["Evaluator", "evaluate", "resolve_settings"]
