"""The control plane: runs, events, escalations, kill switches, audit log and leases in Redis.

Start from ``ControlPlane`` (``state.control.plane``); every piece is also usable on its own.
"""
