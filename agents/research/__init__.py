"""The research-brief reference workflow."""
