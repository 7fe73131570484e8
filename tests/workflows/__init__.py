"""Workflows that exist only for tests (registered via ``WAYBILL_WORKFLOW_MODULES``)."""
