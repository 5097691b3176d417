"""Plotly figure builders, one module per feature; they return figures and never touch streamlit."""
