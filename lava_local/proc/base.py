"""Common base of lava_local's processes."""
from lava.magma.core.process.process import AbstractProcess


class LocalProcess(AbstractProcess):
    """An ``AbstractProcess`` whose constructor may reject arguments before Lava set-up.

    Our constructors validate everything before calling ``AbstractProcess.__init__`` so
    bad input raises in the caller; Lava's ``__del__`` would then trip over the missing
    runtime attribute, which this guards against.
    """

    def __del__(self) -> None:
        if "_runtime" in self.__dict__:
            super().__del__()
