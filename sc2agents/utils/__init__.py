"""Utilities: loggers, checkpoints, seeding, timing, torch helpers."""
