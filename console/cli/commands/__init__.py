"""Subcommands of the ``waybill`` command line, one module each."""
