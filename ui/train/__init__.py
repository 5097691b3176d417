"""The Training page: the setup form, the live view, the runs list and a finished run's results."""

NS = "train"  # the widget-key namespace of every part of the page (its url path)
