"""The Redis stores a run keeps beside its checkpoints: its action ledger, its tape, and the
state of the sources of truth it binds. Every key carries the run's hash tag."""
