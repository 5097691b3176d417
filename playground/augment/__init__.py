"""Augmentation pipelines: the transforms registry and its parameter schemas, the JSON pipeline
spec, validation with fixes, presets, batched on-device augmentation for training, the studio's preview
and code export.
"""
