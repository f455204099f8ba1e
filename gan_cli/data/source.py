"""A run's data: its `data` config node and the dataset built from it, once.

Training's batches, the preview's real points, the evaluator's reference samples and the held-out
split of an image-to-image run all read one DataSource, so a run builds (decodes, renders, indexes)
its dataset once, however many parts look at it.
"""

from __future__ import annotations

import functools

from omegaconf import OmegaConf, open_dict
from omegaconf.errors import InterpolationToMissingValueError, MissingMandatoryValue

from gan_cli.errors import UserError
from gan_cli.registry import build


def build_dataset(data_cfg):
    """Call the `data.dataset` factory; a UserError it raises comes out as itself."""
    dataset_cfg = data_cfg.get("dataset")
    if dataset_cfg is None or "_target_" not in dataset_cfg:
        raise UserError(
            f"data.dataset is missing or has no _target_ (data.name={data_cfg.get('name')!r}): "
            "pick a dataset config with data=<name> (digits, ring, grid, mnist, fashion_mnist, "
            "cifar10, celeba, folder, captioned_digits; image-to-image: digits_edges, paired, digits_printed, "
            "unpaired, photos, sr), whose dataset._target_ names a factory in gan_cli.data."
        )
    try:
        return build(dataset_cfg, "data.dataset")
    except (MissingMandatoryValue, InterpolationToMissingValueError) as error:
        key = getattr(error, "full_key", None) or "a data setting"
        raise UserError(
            f"The data config data={data_cfg.get('name')} needs a value for {key}, which is ??? "
            "(required) in its config file: pass it on the command line, for example "
            "data.root=/path/to/images for a dataset read from disk."
        ) from None


class DataSource:
    """One data config and what is built from it on first use: the dataset, and its held-out split."""

    def __init__(self, config):
        self.config = config if OmegaConf.is_config(config) else OmegaConf.create(config)

    def __repr__(self) -> str:
        return f"<data {self.name}>"

    @property
    def name(self) -> str:
        return str(self.config.get("name"))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(size) for size in self.config.shape)

    @functools.cached_property
    def dataset(self):
        """What data.dataset's factory returns (tensors, a Dataset, image pairs or a 2-D mixture)."""
        return build_dataset(self.config)

    @functools.cached_property
    def heldout(self):
        """The held-out split of an image-to-image dataset (data.eval_split: val or test), no jitter."""
        cfg = OmegaConf.create(OmegaConf.to_container(self.config, resolve=True))
        with open_dict(cfg):
            cfg.split = cfg.get("eval_split") or "test"
            if "split" in cfg.dataset:
                cfg.dataset.split = cfg.split
        return build_dataset(cfg)

    def __len__(self) -> int:
        data = self.dataset
        return len(data[0]) if isinstance(data, (tuple, list)) else len(data)


def as_source(data) -> DataSource:
    """`data` itself when it is a DataSource; else a new one for the data config it is."""
    return data if isinstance(data, DataSource) else DataSource(data)
