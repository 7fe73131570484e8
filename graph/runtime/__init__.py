"""Executing runs: in process (``runner``), on workers (``executor``, ``worker``, the kill
watcher ``hardstop``), what humans do to runs (``service``), and reading runs back (``replay``,
``history``, ``events``, the ``scenarios`` suite). Declaring a workflow is ``graph``'s."""
