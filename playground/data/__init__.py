"""Datasets for training runs, preloaded as tensors: the bundled digits, the generated shapes,
torchvision's CIFAR-10/MNIST/Fashion-MNIST read from disk, and uploaded folders and zips of images.
"""
