"""Adapters to other photonics tools (layer: edges; nothing in photoprop imports this package).

* :mod:`pipeline.interop.sax_models` — compact models and cached entries as SAX models
  (extra ``interop``: ``sax``, ``jax``).
* :mod:`pipeline.interop.skrf_networks` — S-matrices, compact models and cached entries as
  scikit-rf ``Network`` objects and netlists as ``skrf.Circuit`` (scikit-rf is a core
  dependency).

Each adapter imports its third-party library lazily (inside the functions), so importing
this package costs nothing.
"""
