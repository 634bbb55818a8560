"""Scaling study (issue 8): horizon tasks, experiments, metrics, resumable runner, reports."""
