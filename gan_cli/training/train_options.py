"""gan-train's own keys (conf/train.yaml's nodes and conf/trainer/default.yaml), as one table: kind,
range and meaning of each, read off the typed settings (gan_cli/run_settings.py), checked before any
work (validation.py) and printed by gan-train --help.

The config groups model, data, loss and optim are each option's own and are checked where they are
built. tests/test_options.py keeps this table and the config files in step.
"""

from __future__ import annotations

from gan_cli.options import table
from gan_cli.run_settings import (  # noqa: F401 - the choices, for the commands' tables and tests
    AUGMENTATIONS,
    FEATURE_EXTRACTORS,
    METRIC_VALUES,
    METRICS,
    EvalRequest,
    RunSettings,
    options_of,
)

# Top-level nodes the table leaves to their config groups, and gan-train's config groups.
GROUP_NODES = ("model", "data", "loss", "optim")
GROUPS = ("model", "data", "loss", "optim", "trainer", "experiment", "hparams_search", "debug")


# Every key's kind, range and meaning, as the typed settings declare them (gan_cli/run_settings.py).
TRAIN_OPTIONS = table(*options_of(RunSettings))
EVAL = tuple(options_of(EvalRequest, "eval."))

# Mandatory values (???) in gan-train's config groups: what they are and an example.
MISSING_EXAMPLES = {
    "data.root": ("the folder the data files (images, audio) are read from", "data.root=/path/to/images"),
}
