"""The customer-refund reference workflow."""
