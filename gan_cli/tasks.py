"""What a model makes from what: the four tasks gan-cli trains, and the check that model and data agree.

    generation        noise (and a class) -> image      model=gan ... sagan; data=digits, mnist, celeba, ...
    paired            image -> its paired image         model=pix2pix;  data=digits_edges, paired
    unpaired          domain A <-> domain B, no pairs   model=cyclegan; data=digits_printed, unpaired
    super_resolution  low-resolution -> high-resolution model=srgan;    data=photos, sr

`model.task` and `data.task` name it (a config without the key is a generation config).
"""

from __future__ import annotations

from gan_cli.errors import UserError

GENERATION, PAIRED, UNPAIRED, SUPER_RESOLUTION = "generation", "paired", "unpaired", "super_resolution"
TASKS = {
    GENERATION: ("noise -> image", "gan, dcgan, wgan_gp, sngan, sagan, cgan, acgan, ...",
                 "digits, mnist, fashion_mnist, cifar10, celeba, folder, ring, grid"),
    PAIRED: ("image -> paired image", "pix2pix", "digits_edges, paired"),
    UNPAIRED: ("domain A <-> domain B", "cyclegan", "digits_printed, unpaired"),
    SUPER_RESOLUTION: ("low resolution -> high resolution", "srgan", "photos, sr"),
}


def task_of(node) -> str:
    """The task of a model or data config node (generation when the key is absent)."""
    task = node.get("task") if node is not None else None
    return str(task) if task else GENERATION


def is_translation(cfg) -> bool:
    """Whether the run's model maps images to images (it has no latent space)."""
    return task_of(cfg.model) != GENERATION


def check_task(cfg) -> str:
    """The run's task, once model and data agree on it."""
    model_task, data_task = task_of(cfg.model), task_of(cfg.data)
    for where, task in (("model.task", model_task), ("data.task", data_task)):
        if task not in TASKS:
            raise UserError(f"{where}={task!r} is not a task gan-cli trains; the tasks are {', '.join(TASKS)}.")
    if model_task != data_task:
        _, _, data_names = TASKS[model_task]
        _, model_names, _ = TASKS[data_task]
        raise UserError(
            f"model={cfg.model.name} learns {model_task} ({TASKS[model_task][0]}), but data={cfg.data.name} is "
            f"{data_task} data ({TASKS[data_task][0]}): use data={data_names.split(', ')[0]} (or one of "
            f"{data_names}) with this model, or a {data_task} model ({model_names}) with this data."
        )
    return model_task
