"""The Convolution & Pooling Explorer's widgets (``editor``) and views (``views``)."""
