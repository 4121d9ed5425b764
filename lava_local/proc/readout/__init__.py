from .process import Readout

__all__ = ["Readout"]
