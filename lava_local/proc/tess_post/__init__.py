from .process import TessPost

__all__ = ["TessPost"]
