"""The run folder and what is written in it: paths, atomic writes, checkpoint files, a job's
status and metrics, resume planning, sweep records and the sweep summary (gan-report).

Nothing here trains or samples; the training and inference packages read and write run folders
through these modules only, so each file name is spelled once (gan_cli/runs/paths.py).
"""
