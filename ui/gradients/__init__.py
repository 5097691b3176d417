"""The Skip Connections & Gradients page's widgets and views."""
