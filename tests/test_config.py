"""Every option of every config group composes, and the objects it describes can be built."""

from __future__ import annotations

import itertools

import pytest
import torch
from conftest import DATASETS, LOSSES, MODELS, OPTIMIZERS, compose_train, run_cli
from hydra.utils import instantiate

from gan_cli.errors import UserError

IMAGE_DATA = [d for d in DATASETS if d not in ("ring", "grid")]


@pytest.mark.parametrize("model,data", list(itertools.product(MODELS, DATASETS)))
def test_every_model_composes_with_every_dataset(model, data):
    cfg = compose_train([f"model={model}", f"data={data}", "++data.root=/nowhere"])
    assert cfg.model.name == model and cfg.data.name == data
    # Architectures follow the data: the networks are built for data.shape.
    shape = list(cfg.data.shape)
    assert shape == ([2] if data in ("ring", "grid") else [cfg.data.channels, cfg.data.resolution, cfg.data.resolution])
    if model == "gan" or data not in ("ring", "grid"):
        generator = instantiate(cfg.model.generator)
        discriminator = instantiate(cfg.model.discriminator)
        fake = generator(torch.randn(2, cfg.model.latent_dim))
        assert list(fake.shape) == [2, *shape]
        assert discriminator(fake).shape == (2,)
    else:  # convolutional nets on 2-D points: a clear error, not a crash deep inside torch
        with pytest.raises(Exception) as info:
            instantiate(cfg.model.generator)
        assert "model=gan" in str(info.value)


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", MODELS)
def test_every_loss_composes_under_every_model(model, loss):
    cfg = compose_train([f"model={model}", f"loss={loss}"])
    objective = instantiate(cfg.loss)
    logits = torch.randn(4)
    assert torch.isfinite(objective.d_loss(logits, -logits)) and torch.isfinite(objective.g_loss(logits))


@pytest.mark.parametrize("optim", OPTIMIZERS)
def test_every_optimizer_composes(optim):
    cfg = compose_train([f"optim={optim}", "optim.g_lr=1e-4", "optim.d_lr=4e-4"])
    params = [torch.nn.Parameter(torch.zeros(1))]
    g_opt = instantiate(cfg.optim.generator)(params)
    d_opt = instantiate(cfg.optim.discriminator)(params)
    assert type(g_opt).__name__.lower() == optim
    assert g_opt.param_groups[0]["lr"] == 1e-4 and d_opt.param_groups[0]["lr"] == 4e-4  # TTUR


@pytest.mark.parametrize(
    "model,loss_target,optim_target,lr,n_critic",
    [
        ("gan", "BCELoss", "Adam", 2e-4, 1),
        ("dcgan", "BCELoss", "Adam", 2e-4, 1),
        ("lsgan", "LeastSquaresLoss", "Adam", 2e-4, 1),
        ("wgan", "WassersteinLoss", "RMSprop", 5e-5, 5),
        ("wgan_gp", "WassersteinLoss", "Adam", 1e-4, 5),
        ("sngan", "HingeLoss", "Adam", 2e-4, 1),
    ],
)
def test_model_alone_is_its_papers_recipe(model, loss_target, optim_target, lr, n_critic):
    cfg = compose_train([f"model={model}"])
    assert cfg.loss._target_.endswith(loss_target)
    assert cfg.optim.generator._target_.endswith(optim_target)
    assert cfg.optim.generator.lr == lr and cfg.trainer.n_critic == n_critic
    if model == "wgan_gp":
        assert cfg.regularizers.gradient_penalty == 10.0 and list(cfg.optim.betas) == [0.0, 0.9]
        assert cfg.model.discriminator.norm != "batch"
    if model == "wgan":
        assert cfg.regularizers.weight_clip == 0.01 and cfg.regularizers.gradient_penalty is None


def test_command_line_loss_beats_the_models_choice():
    cfg = compose_train(["model=dcgan", "loss=hinge"])
    assert cfg.loss._target_.endswith("HingeLoss")
    cfg = compose_train(["model=wgan_gp", "optim.lr=3e-4"])
    assert cfg.optim.generator.lr == 3e-4 and cfg.optim.discriminator.lr == 3e-4


def test_bad_generator_loss_is_refused():
    cfg = compose_train(["loss=bce", "loss.generator_loss=sideways"])
    with pytest.raises(Exception) as info:
        instantiate(cfg.loss)
    assert isinstance(info.value.__cause__ or info.value, UserError) or "non_saturating" in str(info.value)


def test_help_lists_groups_and_options(tmp_path):
    result = run_cli("gan-train", "--help", cwd=tmp_path, check=True)
    for group, options in (("model", MODELS), ("loss", LOSSES), ("data", DATASETS), ("optim", OPTIMIZERS)):
        assert f"{group}:" in result.stdout
        for option in options:
            assert option in result.stdout


def test_cfg_job_prints_the_composed_config(tmp_path):
    result = run_cli("gan-train", "--cfg", "job", "model=wgan_gp", "data=celeba", "data.batch_size=128",
                     cwd=tmp_path, check=True)
    assert "name: wgan_gp" in result.stdout and "batch_size: 128" in result.stdout
    assert "gradient_penalty: 10.0" in result.stdout
    assert not (tmp_path / "outputs").exists()
