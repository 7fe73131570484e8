"""Agents that live elsewhere: a stage answered by a remote A2A agent (``agents.remote.a2a``)."""
