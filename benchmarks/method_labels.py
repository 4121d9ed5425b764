"""The benchmarks' method labels: ``"<method> + <start> read-out"`` names the read-out's start.

``"TESS + random read-out"`` / ``"+ basis read-out"``: ``Network(readout_init=...)``;
``"+ fixed read-out"``: started at the basis and kept there (``readout_learns=False``);
``"+ centred read-out"``: the default start, the read-out's input less its running mean
(``readout_centred=True``, the network's default for a learning read-out); ``"+ plain
read-out"``: the default start, the read-out on the spikes themselves, as in the papers
(``readout_centred=False``); no start named: the network's default, ``"auto"``, except
BPTT's at random, as BPTT baselines start.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple


def split_method(method: str) -> Tuple[str, str]:
    """``"TESS + random read-out"`` -> ``("TESS", "random")``; ``"BPTT"`` -> ``("BPTT",
    "random")``; ``"TESS"`` -> ``("TESS", "auto")``."""
    base, _, start = method.partition(" + ")
    if start:
        return base, start.removesuffix(" read-out")
    return base, "random" if base == "BPTT" else "auto"


def readout_options(start: str, base: str = "") -> Dict[str, Any]:
    """``Network``'s read-out arguments for a start from :func:`split_method` (``base``: the
    method, for the default start under ``"centred"``)."""
    if start in ("centred", "plain"):
        return dict(readout_init=split_method(base)[1], readout_centred=start == "centred")
    return dict(readout_init="basis" if start == "fixed" else start, readout_learns=start != "fixed")
