"""The HTTP service: signed webhook receiver, the ``/v1`` REST API, health and Prometheus metrics.

Start it with ``empathy-bridge serve --config F``; build the ASGI app in code with
:func:`empathy_bridge.server.app.create_app`. This package's ``__init__`` imports nothing heavy
because the store's migrations import :mod:`empathy_bridge.server.tables`.
"""
