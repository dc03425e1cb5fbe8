"""betsy and MIWG conformance runner over the engine layer (see `bpmn.conformance.suite`)."""
