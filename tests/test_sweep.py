"""Sweeps end to end: multirun summaries, a failing job, resume=auto, an Optuna search, the parallel
launcher, and every experiment= recipe and debug= option."""

from __future__ import annotations

import csv
import json
import math
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import compose_train, run_cli
from fixtures import (
    write_celeba,
    write_cifar10,
    write_div2k,
    write_facades,
    write_horse2zebra,
    write_image_folder,
    write_mnist,
)
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from test_audio_folder import write_sc09

from gan_cli.runs.checkpoints import load_checkpoint
from gan_cli.runs.resume import FolderHoldsAnotherJob, plan_auto_resume
from gan_cli.runs.status import read_status, write_status
from gan_cli.runs.sweep_summary import build_summary
from gan_cli.training.run import train

CONF = Path(__file__).resolve().parents[1] / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
DEBUG_OPTIONS = sorted(p.stem for p in (CONF / "debug").glob("*.yaml"))
SEARCHES = sorted(p.stem for p in (CONF / "hparams_search").glob("*.yaml"))

TINY = [
    "trainer.device=cpu", "data.resolution=16", "data.batch_size=16", "model.latent_dim=16",
    "model.generator.base_width=8", "model.discriminator.base_width=8", "trainer.num_fixed_samples=16",
    "trainer.log_every=1",
]


def summary_rows(sweep: Path) -> list[dict]:
    with open(sweep / "summary.csv", newline="") as f:
        return list(csv.DictReader(f))


def by_job(rows: list[dict]) -> dict[str, dict]:
    return {row["job"]: row for row in rows}


def hparams_of(run: Path) -> dict:
    """The hyperparameters TensorBoard's HPARAMS tab shows for a run folder."""
    content = EventAccumulator(str(run)).Reload().PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    values = start.session_start_info.hparams
    return {k: v.string_value or v.number_value for k, v in values.items()}


def test_four_job_sweep_writes_one_summary_sorted_by_the_objective(tmp_path):
    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", *TINY, "model=dcgan,lsgan", "trainer.steps=2,3", f"hydra.sweep.dir={sweep}",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    rows = summary_rows(sweep)
    assert len(rows) == 4 and {row["status"] for row in rows} == {"finished"}
    assert {(row["model"], row["trainer.steps"]) for row in rows} == {("dcgan", "2"), ("dcgan", "3"), ("lsgan", "2"), ("lsgan", "3")}
    assert all(row["step"] == row["trainer.steps"] for row in rows)  # steps done
    assert all(math.isfinite(float(row["loss/g"])) for row in rows)
    # dcgan (BCE) and lsgan (least squares) losses are not comparable: job order, and the summary says why.
    assert [row["job"] for row in rows] == ["0", "1", "2", "3"]
    markdown = (sweep / "summary.md").read_text()
    assert "4 job(s): 4 finished; in job order (not ranked: the jobs differ in model" in markdown
    assert "| model | trainer.steps |" in markdown and "data.resolution=16" in markdown  # varying vs common

    for row in rows:  # each job its own TensorBoard run, with its hyperparameters for HPARAMS
        run = Path(row["path"])
        assert run.parent == sweep
        assert "loss/g" in EventAccumulator(str(run)).Reload().Tags()["scalars"]
        hparams = hparams_of(run)
        assert hparams["model"] == row["model"] and hparams["trainer.steps"] == int(row["trainer.steps"])
        assert hparams["optim.g_lr"] == pytest.approx(2e-4) and hparams["data"] == "digits"

    # gan-report rebuilds the summary, sorted by any value.
    result = run_cli("gan-report", str(sweep), "sort_by=loss/d", "order=desc", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sorted by loss/d, higher first" in result.stdout
    d_losses = [float(row["loss/d"]) for row in summary_rows(sweep)]
    assert d_losses == sorted(d_losses, reverse=True)
    result = run_cli("gan-report", str(sweep), "sort_by=fid", cwd=tmp_path)
    assert result.returncode == 2 and "sort_by=fid" in result.stderr and "loss/g" in result.stderr
    result = run_cli("gan-report", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_a_failing_job_is_reported_and_resume_auto_skips_finished_jobs(tmp_path):
    sweep = tmp_path / "sweep"
    command = ["gan-train", "-m", *TINY, "trainer.steps=2", "optim.lr=2e-4,-1,1e-4", f"hydra.sweep.dir={sweep}"]
    result = run_cli(*command, cwd=tmp_path)
    assert result.returncode != 0  # the sweep says some job failed ...
    assert "optim.lr=-1" in result.stdout + result.stderr
    jobs = by_job(summary_rows(sweep))  # ... and every job ran and is in the summary
    assert [jobs[j]["status"] for j in ("0", "1", "2")] == ["finished", "failed", "finished"]
    assert "optim.lr=-1 must be a positive number" in jobs["1"]["error"]
    assert jobs["1"]["loss/g"] == "" and jobs["2"]["step"] == "2"
    assert list(by_job(summary_rows(sweep)))[-1] == "1"  # failed jobs last
    finished_checkpoint = sweep / "0" / "checkpoints" / "last.pt"
    written = finished_checkpoint.stat().st_mtime_ns

    result = run_cli(*command, "resume=auto", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert f"the job in {sweep / '0'} finished earlier (2 steps); skipped" in output
    assert f"the job in {sweep / '2'} finished earlier" in output
    assert finished_checkpoint.stat().st_mtime_ns == written  # not trained again
    jobs = by_job(summary_rows(sweep))
    assert [jobs[j]["status"] for j in ("0", "1", "2")] == ["finished", "failed", "finished"]
    assert result.returncode != 0


def test_resume_auto_continues_an_interrupted_sweep(tmp_path):
    sweep = tmp_path / "sweep"
    overrides = [*TINY, "trainer.steps=12", "trainer.seed=0,1", f"hydra.sweep.dir={sweep}"]
    command = [str(Path(sys.executable).parent / "gan-train"), "-m", *overrides]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    for line in process.stdout:
        if "step 2/12" in line or time.time() > deadline:
            break
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    status = read_status(sweep / "0")
    assert status["status"] == "interrupted" and 2 <= status["step"] < 12
    row = by_job(summary_rows(sweep))["0"]
    assert row["status"] == "interrupted" and row["step"] == str(status["step"]) and row["steps"] == "12"
    assert not (sweep / "1").exists()  # Ctrl-C stops the whole sweep
    assert "resume=auto" in output

    result = run_cli("gan-train", "-m", *overrides, "resume=auto", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"steps {status['step']} -> 12" in result.stdout + result.stderr  # continued from its checkpoint
    assert load_checkpoint(sweep / "0" / "checkpoints" / "last.pt")["step"] == 12
    jobs = by_job(summary_rows(sweep))
    assert jobs["0"]["status"] == jobs["1"]["status"] == "finished"
    assert jobs["1"]["step"] == "12"


def test_optuna_search_runs_three_trials(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    sweep = tmp_path / "search"
    result = run_cli("gan-train", "-m", "hparams_search=ttur", "hydra.sweeper.n_trials=3", *TINY, "trainer.steps=2",
                     f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = summary_rows(sweep)
    assert len(rows) == 3 and {row["status"] for row in rows} == {"finished"}
    assert len({row["optim.g_lr"] for row in rows}) == 3  # each trial its own learning rates
    best = OmegaConf.load(sweep / "optimization_results.yaml")
    assert best.best_value == pytest.approx(min(float(row["loss/g"]) for row in rows))  # the objective gan-train returned
    assert "Optuna's best trial" in (sweep / "summary.md").read_text()


@pytest.mark.slow
def test_local_parallel_launcher_runs_jobs_side_by_side(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", "hydra/launcher=local_parallel", *TINY, "trainer.steps=2", "optim.lr=2e-4,-1",
                     f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode != 0
    jobs = by_job(summary_rows(sweep))  # written by the worker processes
    assert jobs["0"]["status"] == "finished" and jobs["1"]["status"] == "failed"


def test_plan_auto_resume(tmp_path):
    overrides = ["model=dcgan", "optim.lr=1e-4"]
    assert plan_auto_resume(tmp_path / "empty", overrides).action == "fresh"
    job = tmp_path / "job"
    write_status(job, status="running", overrides=overrides)
    assert plan_auto_resume(job, overrides[::-1]).action == "fresh"  # order of overrides does not matter
    (job / "checkpoints").mkdir()
    (job / "checkpoints" / "last.pt").write_bytes(b"")
    plan = plan_auto_resume(job, overrides)
    assert plan.action == "resume" and plan.checkpoint == job / "checkpoints" / "last.pt"
    write_status(job, status="finished")
    assert plan_auto_resume(job, overrides).action == "skip"
    with pytest.raises(FolderHoldsAnotherJob) as info:
        plan_auto_resume(job, ["model=lsgan", "optim.lr=1e-4"])
    assert "model=dcgan" in str(info.value) and "hydra.sweep.dir" in str(info.value)


def test_summary_reads_metrics_and_sorts_scores_higher_first(tmp_path):
    for num, (status, precision) in enumerate([("finished", 0.4), ("finished", 0.7), ("failed", None), ("finished", 0.5)]):
        job = tmp_path / str(num)
        write_status(job, status=status, overrides=[f"optim.lr={num}e-4", "data=cifar10"], step=3 if precision else 1,
                     final={"loss/g": 1.0 + num, "step": 3} if precision else None,
                     objective={"name": "precision", "value": precision}, error="" if precision else "boom")
        if precision:
            (job / "metrics.json").write_text(json.dumps({"precision": precision, "fid": {"train": 30 - num}}))
    summary = build_summary(tmp_path)
    assert summary.sort_by == "precision" and summary.descending  # the sweep's objective, a score
    assert [row["job"] for row in summary.rows] == ["1", "3", "0", "2"]
    assert summary.value_columns[0] == "precision" and "fid/train" in summary.value_columns
    assert summary.override_columns == ["optim.lr"] and summary.common == ["data=cifar10"]
    assert [row["job"] for row in build_summary(tmp_path, sort_by="fid/train").rows] == ["3", "1", "0", "2"]


# Recipes and debug options: they compose with the papers' settings and train a few steps.

PAPER_SETTINGS = {
    "dcgan_celeba": {"model.name": "dcgan", "data.name": "celeba", "data.resolution": 64, "data.batch_size": 128,
                     "optim.g_lr": 2e-4, "optim.betas": [0.5, 0.999], "trainer.n_critic": 1},
    "wgan_gp_cifar10": {"model.name": "wgan_gp", "data.name": "cifar10", "data.batch_size": 64, "optim.g_lr": 1e-4,
                        "optim.betas": [0.0, 0.9], "trainer.n_critic": 5, "regularizers.gradient_penalty": 10.0,
                        "trainer.steps": 100000},
    "sngan_cifar10": {"model.name": "sngan", "data.name": "cifar10", "data.batch_size": 64, "optim.g_lr": 2e-4,
                      "trainer.n_critic": 1, "model.discriminator.spectral_norm": True, "trainer.steps": 100000},
    "gan_mnist": {"model.name": "gan", "data.name": "mnist", "data.resolution": 28, "data.batch_size": 100},
    "wgan_gp_grid": {"model.name": "gan", "data.name": "grid", "data.batch_size": 256, "trainer.n_critic": 5,
                     "regularizers.gradient_penalty": 0.1, "model.generator.hidden": [512, 512, 512]},
}
PAPER_SETTINGS |= {
    "pix2pix_facades": {"model.name": "pix2pix", "data.name": "paired", "data.resolution": 256, "data.load_size": 286,
                        "data.batch_size": 1, "data.direction": "BtoA", "model.l1_weight": 100.0,
                        "model.discriminator.receptive_field": 70, "optim.g_lr": 2e-4, "optim.betas": [0.5, 0.999]},
    "cyclegan_horse2zebra": {"model.name": "cyclegan", "data.name": "unpaired", "data.resolution": 256,
                             "data.batch_size": 1, "model.cycle_weight": 10.0, "model.identity_weight": 0.5,
                             "model.pool_size": 50, "optim.schedule": "linear", "optim.decay_start": 0.5,
                             "trainer.steps": 213400},
    "stackgan_cub": {"model.name": "stackgan", "data.name": "captioned_folder", "data.resolution": 64,
                     "data.batch_size": 128, "model.stage_one_width": 192, "model.discriminator.base_width": 96,
                     "model.c_dim": 128, "model.kl_weight": 2.0, "model.lr_decay_epochs": 20, "optim.g_lr": 2e-4,
                     "optim.betas": [0.5, 0.999]},
    "stackgan_coco": {"model.name": "stackgan", "data.name": "captioned_folder", "data.resolution": 64,
                      "data.batch_size": 128, "model.stage_one_width": 192, "model.discriminator.base_width": 96,
                      "model.kl_weight": 2.0, "model.lr_decay_epochs": 20, "optim.g_lr": 2e-4},
    "srgan_div2k": {"model.name": "srgan", "data.name": "sr", "data.scale": 4, "data.crop": 96, "data.batch_size": 16,
                    "model.adversarial_weight": 1e-3, "loss.perceptual.layer": "conv5_4", "optim.g_lr": 1e-4,
                    "model.generator.blocks": 16},
}
PAPER_SETTINGS |= {
    "stylegan2_ffhq256": {"model.name": "stylegan2", "data.name": "folder", "data.resolution": 256, "model.latent_dim": 512,
                          "model.generator.mapping_layers": 8, "model.generator.mapping_lr_multiplier": 0.01,
                          "regularizers.r1": 1.0, "regularizers.r1_interval": 16, "model.path_length_interval": 4,
                          "model.mixing_prob": 0.9, "data.batch_size": 64},
    "progan_celeba128": {"model.name": "progan", "data.name": "celeba", "data.resolution": 128,
                         "model.images_per_phase": 800000, "regularizers.gradient_penalty": 10.0,
                         "regularizers.drift": 0.001, "optim.g_lr": 1e-3, "optim.betas": [0.0, 0.99]},
    "biggan_cifar10": {"model.name": "biggan", "data.name": "cifar10", "data.batch_size": 50, "trainer.n_critic": 4,
                       "regularizers.orthogonal": 1e-4, "model.ema_decay": 0.9999, "model.generator.base_width": 64,
                       "optim.betas": [0.0, 0.999]},
}
PAPER_SETTINGS |= {
    name: {"model.name": model, "data.name": "cifar10", "data.batch_size": 64, "trainer.n_critic": 5,
           "model.generator.base_width": 256, "model.discriminator.base_width": 128, "optim.g_lr": 2e-4,
           "optim.betas": [0.0, 0.9], "trainer.steps": 50000, "model.ema_decay": None}
    for name, model in (("sngan_resnet_cifar10", "sngan_resnet"), ("projection_cifar10", "projection"))
}
PAPER_SETTINGS |= {
    "wavegan_sc09": {"model.name": "wavegan", "data.name": "audio_folder", "data.layout": "sc09", "data.length": 16384,
                     "data.batch_size": 64, "model.generator.model_size": 64, "model.discriminator.model_size": 64,
                     "model.discriminator.phase_shuffle": 2, "regularizers.gradient_penalty": 10.0,
                     "trainer.n_critic": 5, "optim.lr": 1e-4, "optim.betas": [0.5, 0.9]},
    "wavegan_conditional": {"model.name": "wavegan", "data.name": "spoken_digits", "model.conditional": True,
                            "model.generator.num_classes": 10, "model.discriminator.num_classes": 10,
                            "regularizers.gradient_penalty": 10.0, "trainer.n_critic": 5, "optim.lr": 1e-4,
                            "optim.betas": [0.5, 0.9]},
    "hifigan_ljspeech": {"model.name": "hifigan", "data.name": "audio_folder", "data.layout": "ljspeech",
                         "data.task": "vocoder", "data.sample_rate": 22050, "data.length": 8192, "data.batch_size": 16,
                         "model.generator.version": "V1", "optim.lr": 2e-4},
    "melgan_ljspeech": {"model.name": "melgan", "data.name": "audio_folder", "data.layout": "ljspeech",
                        "data.task": "vocoder", "data.sample_rate": 22050, "data.length": 8192, "data.batch_size": 16,
                        "model.generator.ngf": 32, "optim.lr": 1e-4, "optim.betas": [0.5, 0.9]},
    "specgan_sc09": {"model.name": "specgan", "data.name": "audio_folder", "data.layout": "sc09", "data.length": 16384,
                     "data.batch_size": 64, "model.generator.base_width": 64, "model.discriminator.base_width": 64,
                     "model.generator.n_fft": 256, "model.generator.hop": 128, "model.generator.norm": "none",
                     "model.discriminator.norm": "none", "model.generator.griffin_lim_iterations": 16,
                     "regularizers.gradient_penalty": 10.0, "trainer.n_critic": 5, "optim.lr": 1e-4,
                     "optim.betas": [0.5, 0.9]},
}
LOSS_OF_EXPERIMENT = {"sngan_resnet_cifar10": "HingeLoss", "projection_cifar10": "HingeLoss",
                      "wavegan_sc09": "WassersteinLoss", "specgan_sc09": "WassersteinLoss",
                      "wavegan_conditional": "WassersteinLoss", "hifigan_ljspeech": "LeastSquaresLoss",
                      "melgan_ljspeech": "HingeLoss",
"stylegan2_ffhq256": "BCELoss", "progan_celeba128": "WassersteinLoss", "biggan_cifar10": "HingeLoss",
                      "pix2pix_facades": "BCELoss", "cyclegan_horse2zebra": "LeastSquaresLoss", "srgan_div2k": "BCELoss",
                      "dcgan_celeba": "BCELoss", "wgan_gp_cifar10": "WassersteinLoss", "sngan_cifar10": "HingeLoss",
                      "gan_mnist": "BCELoss", "wgan_gp_grid": "WassersteinLoss", "stackgan_cub": "BCELoss",
                      "stackgan_coco": "BCELoss"}


def shrink(cfg_name: str, data_root: Path) -> list[str]:
    """Overrides that make an experiment CPU-sized, writing the files its dataset needs."""
    cfg = compose_train([f"experiment={cfg_name}"])
    overrides = ["trainer.device=cpu", "trainer.steps=2", "trainer.log_every=1", "trainer.num_fixed_samples=4"]
    data = cfg.data.name
    if cfg.model.get("task") == "audio":
        size = "base_width" if cfg.model.name == "specgan" else "model_size"
        overrides += ["data.batch_size=4", f"model.generator.{size}=2", f"model.discriminator.{size}=2"]
        if data == "spoken_digits":
            return overrides + ["data.dataset.voices_per_word=2"]
        write_sc09(data_root, frames=16000, splits=("train",))
        return overrides + [f"data.root={data_root}", "data.num_workers=0"]
    if cfg.model.get("task") == "vocoder":
        from test_audio_folder import write_ljspeech
        from test_vocoders import TINY

        write_ljspeech(data_root, count=40, frames=(9000, 8000))
        tiny = [o for o in TINY[cfg.model.name] if not o.startswith(("data.", "model="))]
        return [*overrides, *tiny, f"data.root={data_root}", "data.num_workers=0", "data.batch_size=2",
                "data.length=4096"]
    if cfg.model.get("task") == "text_to_image":
        from test_captioned_folder import write_layout

        write_layout(data_root, "coco" if "coco" in cfg_name else "text_c10")
        return [*overrides, f"data.root={data_root}", "data.resolution=16", "data.batch_size=4", "data.num_workers=0",
                "data.test_share=0.25", "model.latent_dim=8", "model.c_dim=8", "model.stage_one_width=4",
                "model.discriminator.base_width=4"]
    if cfg.model.get("task"):
        return overrides + shrink_translation(cfg, data_root)
    if data == "celeba":
        write_celeba(data_root, n=12)
    elif data == "cifar10":
        write_cifar10(data_root)
    elif data == "mnist":
        write_mnist(data_root)
    elif data == "folder":
        write_image_folder(data_root, n=10)
    if data in ("celeba", "cifar10", "mnist", "folder"):
        overrides += [f"data.root={data_root}", "data.num_workers=0", "data.batch_size=8"]
    else:
        overrides += ["data.batch_size=32"]
    if cfg.model.name == "gan":
        overrides += ["model.generator.hidden=[32,32]", "model.discriminator.hidden=[32,32]"]
    elif cfg.model.name in ("stylegan2", "progan"):
        overrides += ["data.resolution=16", "model.latent_dim=16", "model.generator.channel_base=128",
                      "model.generator.channel_max=16", "model.discriminator.channel_base=128",
                      "model.discriminator.channel_max=16"]
    else:
        overrides += ["data.resolution=16", "model.generator.base_width=8", "model.discriminator.base_width=8"]
    if cfg.model.name == "biggan":
        overrides += ["model.latent_dim=24"]  # 16x16: three chunks of z
    return overrides


def shrink_translation(cfg, data_root: Path) -> list[str]:
    """An image-to-image recipe on its dataset's layout written small: 16 px, narrow networks."""
    narrow = ["model.generator.base_width=8", "model.discriminator.base_width=8", "data.num_workers=0"]
    if cfg.data.name == "paired":
        write_facades(data_root)
        return [*narrow, f"data.root={data_root}", "data.resolution=16", "data.load_size=18",
                "model.discriminator.receptive_field=16"]
    if cfg.data.name == "unpaired":
        write_horse2zebra(data_root)
        return [*narrow, f"data.root={data_root}", "data.resolution=16", "data.load_size=18",
                "model.discriminator.receptive_field=16", "model.generator.blocks=2"]
    write_div2k(data_root)
    return [*narrow, f"data.root={data_root / 'DIV2K_train_HR'}", f"data.eval_root={data_root / 'DIV2K_valid_HR'}",
            "data.crop=16", "data.lr_size=4", "data.batch_size=2", "model.generator.blocks=2",
            "trainer.sample_every=2"]


def test_the_recipes_are_all_tested():
    assert set(EXPERIMENTS) == set(PAPER_SETTINGS) and set(DEBUG_OPTIONS) >= {"default", "fast_dev_run"}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_has_its_papers_settings_and_trains(name, tmp_path):
    cfg = compose_train([f"experiment={name}"])
    for key, expected in PAPER_SETTINGS[name].items():
        value = OmegaConf.select(cfg, key)
        value = OmegaConf.to_container(value) if OmegaConf.is_config(value) else value
        assert value == expected, key
    assert cfg.loss._target_.endswith(LOSS_OF_EXPERIMENT[name])
    assert compose_train([f"experiment={name}", "optim.lr=3e-4"]).optim.g_lr == 3e-4  # the command line wins

    final = train(compose_train([f"experiment={name}", *shrink(name, tmp_path / "data")]), run_dir=tmp_path / "run")
    assert final["step"] == 2 and math.isfinite(final["loss/d"]) and math.isfinite(final["loss/g"])


@pytest.mark.parametrize("name", DEBUG_OPTIONS)
def test_every_debug_option_is_a_short_cpu_run(name, tmp_path):
    cfg = compose_train([f"debug={name}", "model=dcgan"])
    assert cfg.trainer.device == "cpu" and cfg.trainer.steps <= 50 and cfg.data.batch_size <= 16
    assert cfg.trainer.save_checkpoints == (name == "limit")
    if name == "limit":
        return  # 50 steps with checkpoints: composing is enough here
    tiny = ["data.resolution=16", "model.generator.base_width=8", "model.discriminator.base_width=8", "model.latent_dim=8"]
    final = train(compose_train([f"debug={name}", *tiny]), run_dir=tmp_path)
    assert final["step"] == cfg.trainer.steps


@pytest.mark.parametrize("name", SEARCHES)
def test_every_hparams_search_composes_into_an_optuna_sweep(name):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"hparams_search={name}"], return_hydra_config=True)
    assert cfg.hydra.sweeper._target_.endswith("OptunaSweeper") and cfg.hydra.sweeper.params
    for key in cfg.hydra.sweeper.params:  # every searched key exists in the config
        assert OmegaConf.select(cfg, key, default="absent") != "absent", key


def test_local_parallel_launcher_config_composes():
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher")
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        cfg = compose(config_name="train", overrides=["hydra/launcher=local_parallel"], return_hydra_config=True)
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == 2
