"""Write tests/fixtures/checkpoints/<family>.pt: a checkpoint of each family after 2 tiny steps, in the
format of the gan-cli that runs this script, for the test that every checkpoint of an earlier format
still resumes, samples and (on the same torch) trains on exactly as it did.

    python scripts/make_checkpoint_fixtures.py            # with the gan-cli whose format is kept

Each file comes with <family>.json: the overrides it was trained with and the torch version.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
from hydra import compose, initialize_config_module

from gan_cli.training.run import train

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "checkpoints"
STEPS = ["trainer.device=cpu", "trainer.steps=2", "trainer.log_every=1", "trainer.sample_every=100",
         "trainer.checkpoint_every=100", "trainer.num_fixed_samples=4", "trainer.seed=3"]
TINY = ["data.resolution=16", "data.batch_size=4", "model.latent_dim=16"]
FAMILIES = {
    "dcgan": ["model=dcgan", *TINY, "model.generator.base_width=8", "model.discriminator.base_width=8"],
    "wgan_gp": ["model=wgan_gp", *TINY, "model.generator.base_width=8", "model.discriminator.base_width=8",
                "trainer.n_critic=2"],
    "acgan": ["model=acgan", *TINY, "model.generator.base_width=8", "model.discriminator.base_width=8"],
    "stylegan2": ["model=stylegan2", *TINY, "model.generator.mapping_layers=2", "model.generator.channel_base=64",
                  "model.generator.channel_max=8", "model.discriminator.channel_base=64",
                  "model.discriminator.channel_max=8", "regularizers.r1_interval=2", "model.path_length_interval=2",
                  "model.path_length_weight=2"],
    "progan": ["model=progan", *TINY, "model.images_per_phase=4", "model.generator.channel_base=64",
               "model.generator.channel_max=8", "model.discriminator.channel_base=64",
               "model.discriminator.channel_max=8"],
    "biggan": ["model=biggan", "data.resolution=16", "data.batch_size=4", "model.latent_dim=24",
               "model.generator.base_width=4", "model.discriminator.base_width=4", "model.generator.shared_dim=8",
               "trainer.accumulate=2"],
    "pix2pix": ["model=pix2pix", "data.resolution=16", "data.batch_size=4", "model.generator.base_width=4",
                "model.discriminator.base_width=4", "model.discriminator.receptive_field=16"],
    "cyclegan": ["model=cyclegan", "data.resolution=16", "data.batch_size=2", "model.generator.base_width=4",
                 "model.generator.blocks=1", "model.discriminator.base_width=4",
                 "model.discriminator.receptive_field=16", "model.pool_size=3"],
    "srgan": ["model=srgan", "data.crop=16", "data.lr_size=4", "data.batch_size=2", "model.generator.base_width=4",
              "model.generator.blocks=1", "model.discriminator.base_width=1", "model.pretrain_steps=1"],
}


def main() -> None:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for family in sys.argv[1:] or FAMILIES:
        overrides = [*FAMILIES[family], *STEPS]
        with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
            cfg = compose(config_name="train", overrides=overrides)
        with tempfile.TemporaryDirectory() as folder:
            train(cfg, run_dir=folder)
            shutil.copy(Path(folder) / "checkpoints" / "last.pt", OUT / f"{family}.pt")
        (OUT / f"{family}.json").write_text(json.dumps({"overrides": overrides, "torch": torch.__version__}, indent=2))
        print(f"{family}: {(OUT / f'{family}.pt').stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
