"""The Waybill oversight console (Streamlit). Placeholder until the console lands."""

from __future__ import annotations

import streamlit as st


def main() -> None:
    st.set_page_config(page_title="Waybill", page_icon="📦", layout="wide")
    st.title("Waybill")
    st.write("The oversight console is on its way. Use `waybill runs` and `waybill show RUN`.")


main()
