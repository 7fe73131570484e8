"""Silent gaps a forker could fall into, closed: each found by writing a workflow against the
public API (typo'd carried fields, facts in optional or list fields, Decimal fidelity, a raising
invariant, stale facts passed on, replays of old runs, agents that raise, budgets, values no run
can store)."""
