"""Task types by family, the task runner's side (a process apart from the engine) and the executor's client of it."""
