"""A stand-in for SLURM's sbatch, srun and sacct on one machine, for the hydra/launcher=slurm tests.

    python fake_slurm.py install BIN STATE   writes sbatch, srun and sacct commands into BIN

sbatch keeps a copy of the batch script in STATE, answers "Submitted batch job N" at once and runs
the script in the background (once per index of an --array), with the variables SLURM gives a
batch job. Its N nodes are this machine under the loopback names 127.0.0.1 ... 127.0.0.N, written
as SLURM writes node lists (127.0.0.[1-2]). srun starts nodes x ntasks-per-node tasks of its
command with the variables srun gives each task (SLURM_PROCID, SLURM_LOCALID, SLURM_STEP_*...),
each writing to its --output/--error file, and waits for them. sacct reports the states the
background runs record in STATE (RUNNING, COMPLETED, FAILED), as submitit reads them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

JOB_ID_STEP = 1000  # array tasks of job 1000 get ids 1001, 1002, ... as in SLURM


def install(bin_dir: Path, state_dir: Path) -> None:
    bin_dir.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    for command in ("sbatch", "srun", "sacct"):
        path = bin_dir / command
        path.write_text(f"#!/bin/sh\nFAKE_SLURM_STATE={shlex.quote(str(state_dir))} exec "
                        f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).resolve()))} {command} \"$@\"\n")
        path.chmod(0o755)


def sbatch(args: list[str], state: Path) -> None:
    script = Path(args[-1]).read_text()
    options = dict(re.findall(r"^#SBATCH --([\w-]+)=?(.*)$", script, flags=re.MULTILINE))
    job_id = JOB_ID_STEP * (1 + sum(1 for _ in state.glob("*.sbatch")))
    saved = state / f"{job_id}.sbatch"
    saved.write_text(script)
    print(f"Submitted batch job {job_id}", flush=True)
    log = (state / f"{job_id}.runner.log").open("w")
    subprocess.Popen([sys.executable, __file__, "_run", str(job_id), str(saved), options.get("nodes", "1"),
                      options.get("ntasks-per-node", "1"), options.get("array", "")],
                     env={**os.environ, "FAKE_SLURM_STATE": str(state)}, stdout=log, stderr=log,
                     start_new_session=True)


def run_batch_job(job_id: str, script: str, nodes: str, tasks_per_node: str, array: str, state: Path) -> None:
    """The background part of sbatch: run the script for each array index, recording its state."""
    nodes, tasks_per_node = int(nodes), int(tasks_per_node)
    node_list = "127.0.0.1" if nodes == 1 else f"127.0.0.[1-{nodes}]"
    indices = [None]
    if array:
        first, last = re.match(r"(\d+)-(\d+)", array).groups()
        indices = list(range(int(first), int(last) + 1))
    for index in indices:
        key = job_id if index is None else f"{job_id}_{index}"
        env = {
            **os.environ,
            "SLURM_JOB_ID": job_id if index is None else str(int(job_id) + 1 + index),
            "SLURM_JOB_NODELIST": node_list, "SLURM_NODELIST": node_list,
            "SLURM_JOB_NUM_NODES": str(nodes), "SLURM_NNODES": str(nodes),
            "SLURM_NTASKS": str(nodes * tasks_per_node), "SLURM_NTASKS_PER_NODE": str(tasks_per_node),
            "SLURM_TASKS_PER_NODE": f"{tasks_per_node}(x{nodes})",
            "SLURM_PROCID": "0", "SLURM_LOCALID": "0", "SLURM_NODEID": "0",  # the batch script itself
        }
        if index is not None:
            env.update(SLURM_ARRAY_JOB_ID=job_id, SLURM_ARRAY_TASK_ID=str(index))
        (state / f"{key}.state").write_text("RUNNING")
        code = subprocess.call(["bash", script], env=env)
        (state / f"{key}.state").write_text("COMPLETED" if code == 0 else "FAILED")


def srun(args: list[str]) -> int:
    outputs = {}
    while args and args[0].startswith("--"):
        option = args.pop(0)
        if option in ("--output", "--error"):
            outputs[option] = args.pop(0)
    tasks = int(os.environ["SLURM_NTASKS"])
    per_node = int(os.environ["SLURM_NTASKS_PER_NODE"])
    processes, files = [], []
    for task in range(tasks):
        env = {
            **os.environ,
            "SLURM_STEP_ID": "0", "SLURM_STEPID": "0",
            "SLURM_STEP_NUM_TASKS": str(tasks), "SLURM_STEP_NUM_NODES": os.environ["SLURM_JOB_NUM_NODES"],
            "SLURM_STEP_NODELIST": os.environ["SLURM_JOB_NODELIST"],
            "SLURM_PROCID": str(task), "SLURM_LOCALID": str(task % per_node), "SLURM_NODEID": str(task // per_node),
        }
        stdout = open(_expand(outputs.get("--output", os.devnull), task), "a")
        stderr = open(_expand(outputs["--error"], task), "a") if "--error" in outputs else subprocess.STDOUT
        files += [stdout] + ([stderr] if stderr is not subprocess.STDOUT else [])
        processes.append(subprocess.Popen(args, env=env, stdout=stdout, stderr=stderr))
    codes = [process.wait() for process in processes]
    for file in files:
        file.close()
    return next((code for code in codes if code != 0), 0)


def sacct(args: list[str], state: Path) -> None:
    wanted = {args[i + 1] for i, arg in enumerate(args) if arg == "-j"}
    print("JobID|State|NodeList")
    for path in sorted(state.glob("*.state")):
        if path.stem.split("_")[0] in wanted:
            print(f"{path.stem}|{path.read_text()}|127.0.0.1")


def _expand(pattern: str, task: int) -> str:
    """srun's file name patterns: %j job id, %A array job id, %a array index, %t task."""
    values = {"j": os.environ["SLURM_JOB_ID"], "A": os.environ.get("SLURM_ARRAY_JOB_ID", ""),
              "a": os.environ.get("SLURM_ARRAY_TASK_ID", ""), "t": str(task)}
    return re.sub(r"%([jAat])", lambda match: values[match.group(1)], pattern)


if __name__ == "__main__":
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "install":
        install(Path(arguments[0]), Path(arguments[1]))
    elif command == "sbatch":
        sbatch(arguments, Path(os.environ["FAKE_SLURM_STATE"]))
    elif command == "_run":
        run_batch_job(*arguments, state=Path(os.environ["FAKE_SLURM_STATE"]))
    elif command == "srun":
        sys.exit(srun(arguments))
    elif command == "sacct":
        sacct(arguments, Path(os.environ["FAKE_SLURM_STATE"]))
    else:
        sys.exit(f"fake_slurm: unknown command {command}")
