"""The Architecture Lab's widgets (``editor``) and views (``views``)."""
