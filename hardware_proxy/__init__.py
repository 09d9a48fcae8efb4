"""Hardware proxy: talks to the customer-rating keypads ("evaluators") on serial lines.

The wire protocol lives in :mod:`hardware_proxy.protocol` (pure: bytes in, messages out)
and is specified in ``hardware_proxy/PROTOCOL.md``.
"""

__version__ = "0.1.0"
