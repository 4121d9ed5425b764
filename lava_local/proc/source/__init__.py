from .process import SpikeDataSource

__all__ = ["SpikeDataSource"]
