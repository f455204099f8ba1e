"""The commands: thin layers over plain functions, sharing one error wrapper (wrapper.py).

    gan-train   train.py     -> gan_cli.training.job.run_training_job
    gan-sample  sample.py    -> gan_cli.inference.sampling.sample_to_files
    gan-interp  interp.py    -> gan_cli.inference.interpolation
    gan-eval    evaluate.py  -> the checkpoint's task: evaluate_checkpoint (gan_cli/tasks)
    gan-report  report.py    -> gan_cli.runs.sweep_summary.write_summary

Each checks its keys first against its option table (command_options.py; gan-train's: gan_cli/training/train_options.py).
"""
