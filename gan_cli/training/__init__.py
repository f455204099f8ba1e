"""Training: from a config to a trained GAN.

    job.py         one gan-train job: resume, processes, status (calls train)
    run.py         train(cfg): build the state and the objective, run the loop with its hooks
    build.py       config -> TrainingState and the family's Objective
    state.py       TrainingState: what a checkpoint saves and restores
    objectives/    what one step of each GAN family does (phases, losses, penalties, heads, augmentation)
    loop.py        the loop: phases step after step, hooks when due, the finiteness guard
    hooks.py       log, sample, evaluate and checkpoint hooks
    progress.py    the first steps' time and the live progress line on a terminal
    execution.py   device, precision, channels-last, DDP and torch.compile wrappers
    latent_stream.py the stream of latent batches (the layout is gan_cli/latent_layout.py)
    ema.py, schedules.py, stats.py, signals.py, run_log.py, validation.py
"""
