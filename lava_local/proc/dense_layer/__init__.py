from .process import DenseLayer

__all__ = ["DenseLayer"]
