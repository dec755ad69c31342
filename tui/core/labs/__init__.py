"""Labs: workspace, runner, watcher, verification, GPU feedback."""
