"""SLURM and torchrun: rank, world size and rendezvous from the environment, the launcher configs,
and gan-train -m through submitit (its local executor, and a stand-in SLURM on this machine)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from gan_cli.distributed.environment import (
    PORT_BASE,
    PORT_SPAN,
    LaunchEnvError,
    apply_process_group_env,
    expand_hostlist,
    first_host,
    port_for_job,
    process_group_env,
)
from gan_cli.runs.checkpoints import load_checkpoint

TINY = ["trainer.device=cpu", "data.resolution=16", "data.batch_size=16", "model.latent_dim=16",
        "model.generator.base_width=8", "model.discriminator.base_width=8", "trainer.num_fixed_samples=4"]

# What srun gives task 5 of a job of 2 nodes x 4 tasks (gpu017 and gpu018).
SLURM_TASK = {
    "SLURM_JOB_ID": "912345", "SLURM_NTASKS": "8", "SLURM_JOB_NODELIST": "gpu[017-018]",
    "SLURM_STEP_ID": "0", "SLURM_STEP_NUM_TASKS": "8", "SLURM_STEP_NODELIST": "gpu[017-018]",
    "SLURM_PROCID": "5", "SLURM_LOCALID": "1", "SLURM_NODEID": "1",
}
TORCHRUN_TASK = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.7", "MASTER_PORT": "29400"}


# SLURM's compressed host lists.

@pytest.mark.parametrize("hostlist, hosts", [
    ("node001", ["node001"]),
    ("host1,host2", ["host1", "host2"]),
    ("node[001-003,007],gpu-a[1-2]", ["node001", "node002", "node003", "node007", "gpu-a1", "gpu-a2"]),
    ("n[8-10]", ["n8", "n9", "n10"]),
    ("n[08-10]", ["n08", "n09", "n10"]),
    ("n[098-101]", ["n098", "n099", "n100", "n101"]),
    ("rack[1-2]-n[1-2]", ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]),
    ("a[3],b.example.org", ["a3", "b.example.org"]),
    ("127.0.0.[1-2]", ["127.0.0.1", "127.0.0.2"]),
])
def test_expand_hostlist(hostlist, hosts):
    assert expand_hostlist(hostlist) == hosts
    assert first_host(hostlist) == hosts[0]


@pytest.mark.parametrize("hostlist, message", [
    ("", "empty"),
    ("node[1-4", "Unbalanced"),
    ("node1-4]", "Unbalanced"),
    ("node[[1-2]]", "nested"),
    ("node[4-1]", "Descending"),
    ("node[a-c]", "Bad range"),
    ("node[1-2,]", "Bad range"),
    ("a,,b", "Empty host name"),
])
def test_bad_hostlist_says_what_is_wrong(hostlist, message):
    with pytest.raises(LaunchEnvError, match=message):
        expand_hostlist(hostlist)


# Where the rank, world size and rendezvous come from.

def test_single_process_without_launcher_variables():
    assert process_group_env({}) is None
    assert process_group_env({"HOME": "/root", "SLURM_JOB_ID": "7"}) is None


def test_torchrun_variables():
    assert process_group_env(TORCHRUN_TASK) == {
        "rank": 3, "world_size": 4, "local_rank": 1, "master_addr": "10.0.0.7", "master_port": 29400,
        "source": "torchrun",
    }


def test_slurm_task_variables():
    settings = process_group_env(SLURM_TASK)
    assert settings == {
        "rank": 5, "world_size": 8, "local_rank": 1, "master_addr": "gpu017",
        "master_port": PORT_BASE + 912345 % PORT_SPAN, "source": "slurm",
    }
    # Every task of the job agrees on the rendezvous.
    other_task = {**SLURM_TASK, "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0"}
    assert (process_group_env(other_task)["master_addr"], process_group_env(other_task)["master_port"]) == \
           (settings["master_addr"], settings["master_port"])


def test_torchrun_wins_over_slurm():
    # torchrun started inside a SLURM allocation (srun torchrun ...): torchrun's ranks are the processes.
    assert process_group_env({**SLURM_TASK, **TORCHRUN_TASK})["source"] == "torchrun"


def test_master_variables_override_slurm():
    settings = process_group_env({**SLURM_TASK, "MASTER_ADDR": "gpu017-ib", "MASTER_PORT": "23456"})
    assert (settings["master_addr"], settings["master_port"], settings["source"]) == ("gpu017-ib", 23456, "slurm")


@pytest.mark.parametrize("environ", [
    {**SLURM_TASK, "SLURM_NTASKS": "1", "SLURM_STEP_NUM_TASKS": "1"},  # a one-task job
    # srun -n1 gan-train inside an allocation of 8 tasks: the step has one task.
    {**SLURM_TASK, "SLURM_STEP_NUM_TASKS": "1", "SLURM_PROCID": "0", "SLURM_LOCALID": "0"},
    # The batch script (or an salloc shell) of an 8-task job, not a task srun started.
    {key: value for key, value in SLURM_TASK.items() if not key.startswith("SLURM_STEP")},
    {**TORCHRUN_TASK, "RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1"},
])
def test_one_process_jobs_need_no_process_group(environ):
    assert process_group_env(environ) is None


def test_slurm_job_list_when_the_step_list_is_missing():
    environ = {key: value for key, value in SLURM_TASK.items() if key != "SLURM_STEP_NODELIST"}
    assert process_group_env({**environ, "SLURM_JOB_NODELIST": "a[3-4],b1"})["master_addr"] == "a3"
    del environ["SLURM_JOB_NODELIST"]
    assert process_group_env({**environ, "SLURM_NODELIST": "c7"})["master_addr"] == "c7"


def test_port_for_job():
    ports = {port_for_job(job_id) for job_id in range(100_000, 100_500)}
    assert len(ports) == 500 and all(PORT_BASE <= port < PORT_BASE + PORT_SPAN for port in ports)
    assert max(ports) < 29500  # torchrun's default port stays free, as does Linux's ephemeral range
    assert port_for_job("912345") == port_for_job(912345)


@pytest.mark.parametrize("environ, message", [
    ({**SLURM_TASK, "SLURM_PROCID": "five"}, "SLURM_PROCID must be an integer, not 'five'"),
    ({**SLURM_TASK, "SLURM_PROCID": "8"}, "rank 8 is outside 0..7"),
    ({key: value for key, value in SLURM_TASK.items() if key != "SLURM_LOCALID"}, "SLURM_LOCALID is not set"),
    ({key: value for key, value in SLURM_TASK.items() if key != "SLURM_JOB_ID"}, "SLURM_JOB_ID is not set"),
    ({key: value for key, value in SLURM_TASK.items() if "NODELIST" not in key}, "set MASTER_ADDR"),
    ({**SLURM_TASK, "SLURM_STEP_NODELIST": "gpu[017-"}, "Unbalanced"),
    ({**SLURM_TASK, "MASTER_PORT": "70000"}, "MASTER_PORT must be a port number"),
    ({**SLURM_TASK, "SLURM_JOB_ID": "-3"}, "non-negative"),
    ({"RANK": "0", "WORLD_SIZE": "2"}, "LOCAL_RANK"),
    ({**TORCHRUN_TASK, "MASTER_ADDR": ""}, "MASTER_ADDR"),
    ({**TORCHRUN_TASK, "WORLD_SIZE": "four"}, "WORLD_SIZE must be an integer"),
])
def test_bad_launcher_variables_say_what_is_wrong(environ, message):
    with pytest.raises(LaunchEnvError, match=message):
        process_group_env(environ)


def test_submitit_local_tasks():
    environ = {"SUBMITIT_EXECUTOR": "local", "SUBMITIT_LOCAL_NTASKS": "2", "SUBMITIT_LOCAL_GLOBALID": "1",
               "SUBMITIT_LOCAL_LOCALID": "1", "SUBMITIT_LOCAL_JOB_ID": "4321"}
    assert process_group_env(environ) == {
        "rank": 1, "world_size": 2, "local_rank": 1, "master_addr": "127.0.0.1",
        "master_port": port_for_job(4321), "source": "submitit_local",
    }
    assert process_group_env({**environ, "SUBMITIT_LOCAL_NTASKS": "1", "SUBMITIT_LOCAL_GLOBALID": "0",
                              "SUBMITIT_LOCAL_LOCALID": "0"}) is None


def test_apply_exports_what_env_init_reads():
    environ = {"PATH": "/usr/bin"}
    apply_process_group_env(process_group_env(SLURM_TASK), environ)
    assert environ == {"PATH": "/usr/bin", "RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1",
                       "MASTER_ADDR": "gpu017", "MASTER_PORT": str(PORT_BASE + 912345 % PORT_SPAN)}
    # Read back, the exported variables describe the same place in the same job.
    again = process_group_env({**SLURM_TASK, **environ})
    assert {key: value for key, value in again.items() if key != "source"} == \
           {key: value for key, value in process_group_env(SLURM_TASK).items() if key != "source"}


# The launcher configs.

def launcher_config(overrides: list[str]):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the slurm extra
    with initialize_config_module(config_module="gan_cli.conf", version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True).hydra.launcher


def test_slurm_launcher_config():
    cfg = launcher_config(["hydra/launcher=slurm", "hydra.launcher.nodes=2", "hydra.launcher.gpus_per_node=8",
                           "hydra.launcher.partition=gpu"])
    launcher = OmegaConf.to_container(cfg, resolve=True)
    assert launcher["_target_"] == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert (launcher["nodes"], launcher["gpus_per_node"], launcher["tasks_per_node"]) == (2, 8, 8)
    assert launcher["partition"] == "gpu" and launcher["signal_delay_s"] > 0 and launcher["max_num_timeout"] > 0
    assert launcher_config(["hydra/launcher=slurm"]).partition is None  # the user names the partition


def test_cfg_hydra_prints_the_slurm_launcher(tmp_path):
    # --cfg cannot go with -m (Hydra allows one mode), but prints the launcher a -m run would use.
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the slurm extra
    result = run_cli("gan-train", "--cfg", "hydra", "hydra/launcher=slurm", "hydra.launcher.nodes=2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    launcher = OmegaConf.create(result.stdout).hydra.launcher
    assert launcher.nodes == 2 and launcher._target_.endswith("SlurmLauncher")


def test_slurm_local_launcher_config():
    cfg = launcher_config(["hydra/launcher=slurm_local"])
    assert cfg._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher"
    assert cfg.tasks_per_node == 1


# gan-train -m through submitit.

def test_sweep_through_submitit_local_executor(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the slurm extra
    sweep = tmp_path / "sweep"
    result = run_cli("gan-train", "-m", "hydra/launcher=slurm_local", *TINY, "trainer.steps=2",
                     "model.latent_dim=8,16", f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    for job, latent_dim in ((0, 8), (1, 16)):
        checkpoint = load_checkpoint(sweep / str(job) / "checkpoints" / "last.pt")
        assert checkpoint["step"] == 2 and checkpoint["config"]["model"]["latent_dim"] == latent_dim
    # Each job ran in its own submitit subprocess, which logged there.
    logs = sorted((sweep / ".submitit").glob("*/*_0_log.out"))
    assert len(logs) == 2 and all("step 2/2" in log.read_text() for log in logs)


def _submitit_task_pid(sweep: Path) -> int | None:
    """The process submitit started for the job's task (python -m submitit.core._submit <sweep>/...)."""
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if b"submitit.core._submit" in command and any(str(sweep).encode() in part for part in command):
            return int(entry.name)
    return None


@pytest.mark.slow
def test_requeued_job_continues_from_its_checkpoint(tmp_path):
    """SIGUSR2 (SLURM's warning before the time limit) makes submitit requeue the job; the requeued
    job runs the same overrides in the same folder, and resume=auto continues it from last.pt."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the slurm extra
    sweep = tmp_path / "sweep"
    command = [str(Path(sys.executable).parent / "gan-train"), "-m", "hydra/launcher=slurm_local", "resume=auto",
               *TINY, "trainer.steps=150", "trainer.checkpoint_every=5", "trainer.log_every=5",
               "trainer.sample_every=1000", f"hydra.sweep.dir={sweep}"]
    sweeper = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        last = sweep / "0" / "checkpoints" / "last.pt"
        deadline = time.monotonic() + 240
        while not last.is_file() and time.monotonic() < deadline and sweeper.poll() is None:
            time.sleep(0.05)
        task = _submitit_task_pid(sweep)
        assert last.is_file() and task is not None, "the job never wrote its first checkpoint"
        os.kill(task, signal.SIGUSR2)
        output, _ = sweeper.communicate(timeout=300)
    finally:
        if sweeper.poll() is None:
            os.killpg(sweeper.pid, signal.SIGKILL)
    assert sweeper.returncode == 0, output
    submitit_log = "".join(path.read_text() for path in (sweep / ".submitit").glob("*/*_0_log.*"))
    assert "Caught signal SIGUSR2" in submitit_log and "Requeued job" in submitit_log
    train_log = (sweep / "0" / "train.log").read_text()
    assert f"continuing the job in {sweep / '0'} from {last}" in train_log
    first_from, resumed_from = (int(step) for step in re.findall(r"steps (\d+) -> 150", train_log))
    # SIGUSR2 makes the loop checkpoint the step it is at, then hands the signal to submitit.
    assert first_from == 0 and 1 <= resumed_from < 150
    assert load_checkpoint(last)["step"] == 150


@pytest.mark.slow
def test_two_node_sweep_on_a_stand_in_slurm(tmp_path):
    """hydra/launcher=slurm end to end, with sbatch/srun/sacct stand-ins (tests/fake_slurm.py): each
    job of the sweep is one SLURM job of 2 nodes x 1 GPU; its two tasks join one process group
    from SLURM's variables alone and train into one run folder."""
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")  # the slurm extra
    bin_dir, state = tmp_path / "bin", tmp_path / "slurm"
    subprocess.run([sys.executable, str(Path(__file__).parent / "fake_slurm.py"), "install", str(bin_dir), str(state)],
                   check=True)
    sweep = tmp_path / "sweep"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HYDRA_FULL_ERROR": "0"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gan-train"), "-m", "hydra/launcher=slurm", "hydra.launcher.nodes=2",
         "hydra.launcher.partition=debug", "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=30",
         *TINY, "trainer.steps=2", "optim.lr=1e-4,2e-4", f"hydra.sweep.dir={sweep}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    runner_logs = "".join(path.read_text() for path in state.glob("*.runner.log"))
    assert result.returncode == 0, result.stdout + result.stderr + runner_logs

    # The sweep went out as one sbatch array, of 2 nodes x 1 task (one task per GPU) each.
    [script] = [path.read_text() for path in state.glob("*.sbatch")]
    for directive in ("--nodes=2", "--gpus-per-node=1", "--ntasks-per-node=1", "--partition=debug",
                      "--time=30", "--signal=USR2@120", "--array=0-1%2"):
        assert f"#SBATCH {directive}\n" in script, directive
    for job, lr in ((0, 1e-4), (1, 2e-4)):
        run = sweep / str(job)
        checkpoint = load_checkpoint(run / "checkpoints" / "last.pt")
        assert checkpoint["world_size"] == 2 and checkpoint["step"] == 2
        assert checkpoint["config"]["optim"]["lr"] == lr
        assert "(2 process(es)" in (run / "train.log").read_text()
    assert sorted(path.name for path in sweep.iterdir() if path.is_dir() and not path.name.startswith(".")) == ["0", "1"]
