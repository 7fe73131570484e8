"""Logic behind the console's pages: handles, login, guarded actions, views of runs.

Pages (``console/screens``) stay thin: they lay out widgets and call these modules, so the rules
(who may do what, what is audited, how agent text is shown) live in one testable place.
"""
