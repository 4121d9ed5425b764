from .process import ThirdFactorPost

__all__ = ["ThirdFactorPost"]
