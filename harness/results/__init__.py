"""The files a run writes and the readers read back: records, event logs, checkpoints, figures."""
