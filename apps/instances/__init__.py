"""Runtime of deployed models: instances, the step pipeline, audit trail, incidents and timers."""
