"""The Transfer Learning page's controls (``editor``) and views (``views``)."""
