"""Shared by every layer of the core: the registry, the compute device, safe image decoding, the
URL codec and the project's paths. Imports nothing else from ``playground``.
"""
