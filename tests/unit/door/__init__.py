"""The gate is the only door: nothing irreversible happens on unchecked, stale or unknown data.

Every test here looks at the side effect itself (the portal's orders, the bank's payments), not
only at verdicts.
"""
