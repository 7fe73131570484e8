"""``waybill a2a``: every workflow published as an A2A agent (official ``a2a-sdk``).

A task is a run: sending a message with the workflow's input (a data part) starts one, and the
task's status follows the run's — ``input-required`` while an escalation waits for a human in
the console, ``completed`` with the final handoff as the artifact.
"""
