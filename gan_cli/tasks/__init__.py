"""What a model makes from what: the tasks gan-cli trains, each an object that owns what differs.

    generation        noise (and a class) -> image      model=gan ... sagan; data=digits, mnist, celeba, ...
    paired            image -> its paired image         model=pix2pix;  data=digits_edges, paired
    unpaired          domain A <-> domain B, no pairs   model=cyclegan; data=digits_printed, unpaired
    super_resolution  low-resolution -> high-resolution model=srgan;    data=photos, sr
    audio             noise -> waveform                 model=wavegan, specgan; data=spoken_digits, audio_folder
    vocoder           mel spectrogram -> waveform       model=hifigan, melgan; data=speech, audio_folder
    text_to_image     caption -> image                  model=stackgan; data=captioned_digits

    task = check_task(cfg)            # the run's Task, once model and data agree on it
    loaded = load_for_task(path)      # a checkpoint read once, with its config and its Task

`model.task` and `data.task` name it (a config without the key is a generation config). Shared code
asks the Task (task.networks, task.latent_space, task.preview(...), task.evaluator(...),
task.sample(...)), never its name. Adding a task is a module here with a Task subclass, its entry in
TASKS, and its configs (gan_cli/tasks/base.py says what a task answers).
"""

from __future__ import annotations

from gan_cli.errors import UserError
from gan_cli.tasks.audio_generation import AudioGenerationTask
from gan_cli.tasks.base import Loaded, Task
from gan_cli.tasks.generation import GenerationTask
from gan_cli.tasks.paired_translation import PairedTask
from gan_cli.tasks.text_to_image import TextToImageTask
from gan_cli.tasks.unpaired_translation import UnpairedTask
from gan_cli.tasks.upscaling import SuperResolutionTask
from gan_cli.tasks.vocoding import VocoderTask

TASKS: dict[str, Task] = {task.name: task for task in (GenerationTask(), PairedTask(), UnpairedTask(),
                                                        SuperResolutionTask(), AudioGenerationTask(),
                                                        VocoderTask(), TextToImageTask())}
DEFAULT = GenerationTask.name


def task_of(node) -> str:
    """The task named by a model or data config node (generation when the key is absent)."""
    task = node.get("task") if node is not None else None
    return str(task) if task else DEFAULT


def task_owning(option) -> Task:
    """The task of a model or data config (gan_cli.config_catalog.ConfigOption)."""
    return next(task for task in TASKS.values() if task.owns(option))


def task_named(name: str, where: str = "model.task") -> Task:
    if name not in TASKS:
        raise UserError(f"{where}={name!r} is not a task gan-cli trains; the tasks are {', '.join(TASKS)}.")
    return TASKS[name]


def check_task(cfg) -> Task:
    """The run's task, once model and data agree on it."""
    model_task = task_named(task_of(cfg.model), "model.task")
    data_task = task_named(task_of(cfg.data), "data.task")
    if model_task is not data_task and not model_task.accepts_data(cfg.data):
        raise UserError(
            f"model={cfg.model.name} learns {model_task.name} ({model_task.summary}), but data={cfg.data.name} is "
            f"{data_task.name} data ({data_task.summary}): use data={model_task.data.split(', ')[0]} (or one of "
            f"{model_task.data}) with this model, or a {data_task.name} model ({data_task.models}) with this data."
        )
    return model_task


def config_task(cfg) -> Task:
    """The task of a config already checked (a checkpoint's stored config, a run under way)."""
    return task_named(task_of(cfg.model))


def load_for_task(path) -> Loaded:
    """A checkpoint read once (allow-listed loader), its checked stored config and its task."""
    from gan_cli.runs.config import read_checkpoint

    read = read_checkpoint(path)
    return Loaded(read, config_task(read.config))
