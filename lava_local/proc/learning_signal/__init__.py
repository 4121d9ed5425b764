from .process import LearningSignal

__all__ = ["LearningSignal"]
