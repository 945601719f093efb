"""Widgets and helpers shared by the Streamlit pages (the engine lives in hamacho_core)."""
