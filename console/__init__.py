"""The human side of Waybill: the ``waybill`` command line (``console.cli``) and the
Streamlit oversight console (``console/app.py``, its pages in ``console/screens``, their
logic in ``console/ui``, its own HTTP routes in ``console/web``)."""
