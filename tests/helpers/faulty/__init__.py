from .process import Faulty

__all__ = ["Faulty"]
