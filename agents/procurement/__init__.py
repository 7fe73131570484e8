"""The procurement reference workflow."""
