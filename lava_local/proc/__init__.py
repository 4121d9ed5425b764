"""Lava processes of lava_local, laid out as Lava's own process library:
one sub-package per process, ``process.py`` (ports and Vars) and ``models.py``
(ProcessModels per tag)."""
