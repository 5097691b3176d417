"""The Inside a Trained Network page's widgets and views."""
