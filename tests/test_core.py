"""The reshaped core: the training state round-trips, objectives plug in through config, an old
checkpoint still resumes and samples, and every command turns a user error into one paragraph."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import run_cli, tiny_model_overrides
from omegaconf import OmegaConf

from gan_cli.errors import UserError
from gan_cli.latent_layout import LatentLayout
from gan_cli.runs.checkpoints import FORMAT, load_checkpoint
from gan_cli.runs.config import upgrade_config
from gan_cli.runs.result_values import higher_is_better
from gan_cli.training.build import build_objective, build_state
from gan_cli.training.execution import Execution
from gan_cli.training.loop import update
from gan_cli.training.stats import RunningStats
from gan_cli.training.validation import describe_run


def _built(cfg):
    torch.manual_seed(0)
    run = describe_run(cfg)
    execution = Execution.from_settings(run.trainer, torch.device("cpu"), run.data.shape)
    state = build_state(run, execution)
    return state, build_objective(run, state, execution, RunningStats())


def _run(state, objective, steps):
    for _ in range(steps):
        for phase in objective.phases():
            for repeat in range(phase.repeats):
                update(state, phase, state.step * phase.repeats + repeat)
        state.step += 1


def test_training_state_round_trips_exactly(tiny_cfg):
    cfg = tiny_cfg("wgan_gp", "digits")
    state, objective = _built(cfg)
    _run(state, objective, 2)
    saved = copy.deepcopy(state.state_dict())  # state_dict() holds live tensors, as torch's do
    _run(state, objective, 2)
    straight = [p.detach().clone() for p in state.generator.parameters()]

    other, other_objective = _built(cfg)
    other.load_state_dict(saved)
    assert other.step == 2
    _run(other, other_objective, 2)
    assert all(torch.equal(a, b) for a, b in zip(straight, other.generator.parameters()))


def test_objective_phases_and_statistics(tiny_cfg):
    state, objective = _built(tiny_cfg("wgan_gp", "digits", ["trainer.n_critic=5"]))  # the paper's 5
    assert [(phase.name, phase.repeats) for phase in objective.phases()] == [("D", 5), ("G", 1)]
    assert objective.images_per_step == 5 * state.batches.batch_size
    assert "gradient_penalty" in objective.description
    _run(state, objective, 1)
    values = objective.stats.flush()
    assert {"loss/d", "loss/g", "loss/gradient_penalty", "wasserstein_estimate"} <= set(values)


def test_objective_target_must_be_gan_clis_own(tiny_cfg):
    cfg = tiny_cfg("dcgan", "digits")
    cfg.model.objective._target_ = "os.system"
    with pytest.raises(UserError, match="os.system"):
        _built(cfg)


def test_latent_layout_of_infogan_and_conditional_configs(tiny_cfg):
    infogan = LatentLayout.from_config(tiny_cfg("infogan", "digits"))
    assert (infogan.latent_dim, infogan.categorical, infogan.continuous, infogan.noise_dim) == (16, (10,), 2, 4)
    z, labels, nrow = infogan.grid(6, seed=1)
    assert z.shape == (6, 16) and labels is None and nrow is None
    assert torch.equal(infogan.split_codes(z)[:, :10].sum(1), torch.ones(6))
    assert torch.equal(z, infogan.grid(6, seed=1)[0])  # by seed

    conditional = LatentLayout.from_config(tiny_cfg("acgan", "digits"))
    z, labels, nrow = conditional.grid(20, seed=0)
    assert nrow == 2 and labels.tolist() == [c for c in range(10) for _ in range(2)]
    with pytest.raises(UserError, match="0 to 9"):
        conditional.grid(4, seed=0, label=10)


def test_one_table_of_metric_directions():
    assert higher_is_better("class_coverage") and higher_is_better("eval/precision") and higher_is_better("is")
    assert not higher_is_better("fid") and not higher_is_better("eval/class_kl") and not higher_is_better("loss/g")


def _make_old_style(checkpoint: dict) -> dict:
    """What a checkpoint of gan-cli before the reshaped core looked like: old module paths, and no
    keys that were added since (model.objective, trainer.channels_last, eval, ...)."""
    old = dict(checkpoint)
    for key in ("config", "config_source"):
        config = OmegaConf.create(checkpoint[key])
        config.loss._target_ = config.loss._target_.replace("gan_cli.training.objectives.losses.", "gan_cli.losses.")
        for node, name in ((config.model, "objective"), (config.trainer, "channels_last"),
                           (config.trainer, "ddp_timeout_s"), (config.optim, "schedule"), (config, "eval")):
            del node[name]
        old[key] = OmegaConf.to_container(config)
    del old["eval"]
    return old


def test_a_checkpoint_from_an_older_version_resumes_and_samples(tmp_path):
    run = tmp_path / "run"
    run_cli("gan-train", "model=dcgan", "trainer.device=cpu", "trainer.steps=2", "data.batch_size=8",
            "trainer.num_fixed_samples=4", "eval.every=0", *tiny_model_overrides("dcgan"),
            f"hydra.run.dir={run}", cwd=tmp_path, check=True)
    checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
    checkpoint.setdefault("eval", None)
    old = tmp_path / "old.pt"
    torch.save(_make_old_style(checkpoint), old)
    assert load_checkpoint(old)["format"] == FORMAT
    upgraded = upgrade_config(load_checkpoint(old)["config"])
    assert upgraded.loss._target_ == "gan_cli.training.objectives.losses.BCELoss"
    assert upgraded.model.objective._target_.startswith("gan_cli.training.objectives.")
    assert upgraded.optim.schedule_steps == 2  # ${trainer.steps}, resolved in the run's own config

    resumed = tmp_path / "resumed"
    run_cli("gan-train", f"resume={old}", "trainer.steps=4", f"hydra.run.dir={resumed}", cwd=tmp_path, check=True)
    assert load_checkpoint(resumed / "checkpoints" / "last.pt")["step"] == 4
    result = run_cli("gan-sample", f"ckpt={old}", "n=4", f"out={tmp_path / 'old.png'}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "old.png").is_file()


def test_an_error_inside_a_configured_class_is_one_paragraph(tmp_path):
    result = run_cli("gan-train", "model=sagan", "trainer.device=cpu", "model.generator.attention_resolution=7",
                     f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "attention_resolution=7" in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error:")
