"""`bench.py tune`: this machine's speed settings, measured one candidate per process."""
