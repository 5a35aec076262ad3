"""The training machinery: the Model built from the recipe, its callbacks, chunks, progress, schedules."""
