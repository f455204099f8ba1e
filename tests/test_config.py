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
        ("wgan_gp", "WassersteinLoss", "Adam", 1e-4, 2),  # the paper's 5: experiment=wgan_gp_cifar10
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
        assert compose_train(["experiment=wgan_gp_cifar10"]).trainer.n_critic == 5  # the paper's recipe
    if model == "wgan":
        assert cfg.regularizers.weight_clip == 0.01 and cfg.regularizers.gradient_penalty is None


def test_the_mlp_gan_smooths_d_and_drops_out_while_its_paper_recipe_keeps_hard_targets():
    """The gan preset: real targets 0.9 and dropout 0.5 in D (the levers that let an MLP learn the
    digits); experiment=gan_mnist keeps the paper's hard targets and its D dropout; the WGAN-GP toy
    critic has none."""
    preset = compose_train(["model=gan"])
    assert preset.loss.real_label == 0.9 and preset.model.discriminator.dropout == 0.5
    assert compose_train(["model=gan", "loss=bce"]).loss.real_label == 1.0
    paper = compose_train(["experiment=gan_mnist"])
    assert paper.loss.real_label == 1.0 and paper.model.discriminator.dropout == 0.5
    assert compose_train(["experiment=wgan_gp_grid"]).model.discriminator.dropout == 0.0


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


def test_one_sided_label_smoothing_is_the_cross_entropy_to_the_smoothed_real_target():
    """loss.real_label=t: D's real term is BCE against t (Salimans 2016), fakes keep target 0, G is unchanged."""
    import torch.nn.functional as F

    from gan_cli.training.objectives.losses import BCELoss

    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 1.0, 0.0])
    smooth, plain = BCELoss(real_label=0.9), BCELoss()
    expected = (F.binary_cross_entropy_with_logits(real, torch.full_like(real, 0.9))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    assert torch.allclose(smooth.d_loss(real, fake), expected)
    assert smooth.d_loss(real, fake) > plain.d_loss(real, fake) - 1e-6  # certainty on reals is no longer free
    assert torch.equal(smooth.g_loss(fake), plain.g_loss(fake))
    for bad in (0.5, 1.5, "high", True):
        with pytest.raises(UserError, match="loss.real_label"):
            BCELoss(real_label=bad)


def test_cyclegan_weighs_the_plain_least_squares_error_against_its_cycle_term():
    """Mao et al.'s LSGAN halves both losses; CycleGAN's objective (paper and code) uses the plain MSE, which
    against the cycle's x10 is twice the pull on G: model=cyclegan selects loss=lsgan_mse, model=lsgan keeps 1/2."""
    from gan_cli.training.objectives.losses import LeastSquaresLoss

    fake = torch.tensor([0.2, -0.4])
    half, plain = (instantiate(compose_train([f"model={m}"]).loss) for m in ("lsgan", "cyclegan"))
    assert isinstance(plain, LeastSquaresLoss) and plain.scale == 1.0 and half.scale == 0.5
    assert torch.allclose(plain.g_loss(fake), (fake - 1).square().mean())
    assert torch.allclose(plain.d_loss(fake, fake), 2 * half.d_loss(fake, fake))
    assert compose_train(["experiment=cyclegan_horse2zebra"]).loss.scale == 1.0
    assert not isinstance(instantiate(compose_train(["model=cyclegan", "loss=hinge"]).loss), LeastSquaresLoss)
    with pytest.raises(UserError, match="loss.scale=0"):
        LeastSquaresLoss(scale=0)


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
