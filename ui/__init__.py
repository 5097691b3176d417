"""Streamlit helpers shared by the pages: sidebar, URL-backed state, uploads.

Only this package and ``pages/`` import streamlit; ``playground/`` never does.
"""
