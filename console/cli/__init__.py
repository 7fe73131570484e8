"""The ``waybill`` command line: :func:`console.cli.main.main` parses, runs one command, and
turns every error into one line; each command is a module of ``console.cli.commands``."""
