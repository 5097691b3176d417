"""Models as data: the spec vocabulary and its layer-type table, conv/pool arithmetic, the
``nn.Module`` builders, the zoo of presets, the summary (shapes, parameters, MACs, memory, receptive
field), source-code export, transfer-learning backbones and heads, and probes inside a network.
"""
