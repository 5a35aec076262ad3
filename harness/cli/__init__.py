"""The command line: a run's options and the other commands (`bench.py COMMAND`)."""
