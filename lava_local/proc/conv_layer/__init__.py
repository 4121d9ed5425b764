from .process import ConvLayer

__all__ = ["ConvLayer"]
