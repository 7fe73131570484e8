"""Helpers of the checkpointer's integration tests (adapters, graphs, subprocess scripts)."""
