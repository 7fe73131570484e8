"""The reference workflows, one package each (``procurement``, ``refund``, ``research``),
and the model-backed brains they share (``llm``). Every ``agents/<name>/chain.py`` with a
``build_chain()`` is found by ``graph.runtime.registry``."""
