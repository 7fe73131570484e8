"""Every schema (contracts, run state, verdicts, decisions, budgets, MAST codes, settings)
and every store: the checkpointer (``state.checkpoint``), the control plane
(``state.control``) and the run's own stores (``state.stores``). No graph code."""
