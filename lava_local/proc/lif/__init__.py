from .process import LIF

__all__ = ["LIF"]
