"""Runs as folders on disk: the run store (status, events, launching and stopping processes, the
device queue), the worker process, a run's history read back as curves, and a finished run's results.
"""
