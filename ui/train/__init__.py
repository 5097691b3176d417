"""The Training page: the setup form, the live view, the runs list and a finished run's results."""
