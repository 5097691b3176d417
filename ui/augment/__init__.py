"""The Augmentation Studio's pipeline editor (``editor``) and views (``views``)."""
