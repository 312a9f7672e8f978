"""Infrastructure, the lowest layer: errors, paths, safe text, settings, the Docker engine and images.

Owns how the harness finds its checkout, reads its environment and builds and runs images. Imports nothing
from the other harness layers.
"""
