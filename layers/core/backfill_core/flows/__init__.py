"""Flows: the flow model and its validation, labels, inputs, templating, the execution record, the runner."""
