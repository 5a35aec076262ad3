"""A run's life: plan (every check before anything is written), apply, the phases, the ranks."""
