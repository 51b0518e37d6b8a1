"""Adapters to other photonics tools (layer: edges; nothing in photoprop imports this package).

* :mod:`pipeline.interop.sax_models` — compact models and cached entries as SAX models
  (extra ``interop``: ``sax``, ``jax``).
* :mod:`pipeline.interop.skrf_networks` — S-matrices, compact models and cached entries as
  scikit-rf ``Network`` objects and netlists as ``skrf.Circuit`` (scikit-rf is a core
  dependency).
* :mod:`pipeline.interop.jax_die` — a die as a JAX ``custom_vjp`` function ``f(params, x)``:
  forward ``die.infer``, backward the die's in-situ ``die.vjp`` (extra ``interop``: ``jax``).
* :mod:`pipeline.interop.torch_die` — the same as a torch ``autograd.Function`` and
  ``nn.Module`` (extra ``torch``).
* :mod:`pipeline.interop.gdsfactory_layout` / ``gdsfactory_simulate`` — a gdsfactory component
  or GDS cell as an :class:`~pipeline.interop.gdsfactory_spec.ImportedLayoutSpec` (its
  canonical 1 nm-grid geometry, the cache key) simulated by the calibrated 2D FDTD engine;
  :mod:`pipeline.interop.gdsfactory_export` — built-in families as gdsfactory components
  (extra ``interop``: ``gdsfactory``).

Each adapter imports its third-party library lazily (inside the functions), so importing
this package costs nothing.
"""
