"""One training run: the config, the loop, optimisers and schedules, checkpoints, the model a run
trains, model-ready inputs, data-parallel helpers and evaluation.
"""
