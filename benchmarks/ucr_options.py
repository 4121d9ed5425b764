"""The benchmarks' shared command-line option for the UEA/UCR sets' spike code.

Every benchmark that encodes a UEA/UCR set takes ``--encoding``: ``delta+rate`` (the library's
standard, :data:`lava_local.data.timeseries.UCR_ENCODER`, the level code: the delta code of the
changes and a sigma-delta population code of the level) or ``delta`` (the delta code alone,
which reproduces the temporal figures measured before the level code became the standard).
"""
from __future__ import annotations

import argparse

from lava_local.data.timeseries import UCR_ENCODER, UCR_ENCODERS


def add_encoding_option(parser: argparse.ArgumentParser) -> None:
    """Declare ``--encoding`` on ``parser``, with the library's codes, its standard the default."""
    parser.add_argument("--encoding", choices=UCR_ENCODERS, default=UCR_ENCODER,
                        help="the UEA/UCR sets' code: delta+rate (the library's standard, the level "
                             "code: the delta code of the changes and a population code of the level) "
                             "or delta (the delta code alone)")
