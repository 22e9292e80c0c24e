"""The bundled Spotify Web API simulator: a pure core (catalog, listeners, history) and HTTP views.

The pure modules (``times``, ``catalog``, ``render``, ``profiles``, ``listener``, ``history``) use no
Django, no I/O and no wall clock; ``state`` keeps the per-process simulator state; the ``*_views``
modules serve it under ``spotify-sim/``.
"""
