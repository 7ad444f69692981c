"""Runs as one tidy pandas table, from local run folders, W&B offline files or the W&B API."""
