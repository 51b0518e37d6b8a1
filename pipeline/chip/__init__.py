"""The chip layer: a die = architecture + layout + impairments sampled once per seed,
touched by training algorithms only through its measurement interface
(:mod:`pipeline.chip.interface`).

Architectures and their dies, by concept (each architecture module is the public door:
the architecture class and its die class):

* ``attenuator``: :mod:`~pipeline.chip.attenuator` (architecture, ideal model),
  :mod:`~pipeline.chip.attenuator_spec` (specs), :mod:`~pipeline.chip.attenuator_chip`
  (hardware, programming), :mod:`~pipeline.chip.attenuator_readout` (readings, slopes),
  :mod:`~pipeline.chip.attenuator_calibration` (phase, crosstalk, gain calibrations),
  :mod:`~pipeline.chip.attenuator_die` (Die protocol), :mod:`~pipeline.chip.attenuator_report`
  (the die as data);
* ``mesh``: :mod:`~pipeline.chip.mesh_network` (architecture, ideal model),
  :mod:`~pipeline.chip.mesh_chip` (hardware, programming), :mod:`~pipeline.chip.mesh_die`
  (readings, forward pass, in-situ backpropagation), :mod:`~pipeline.chip.mesh_calibration`;
* shared: :mod:`~pipeline.chip.heater_drive` (heater DAC, row crosstalk),
  :mod:`~pipeline.chip.neuron`, :mod:`~pipeline.chip.impairments`, :mod:`~pipeline.chip.drift`,
  :mod:`~pipeline.chip.arm_offsets`, device figures from :mod:`pipeline.library.figures`.
"""

from pipeline.chip.impairments import IMPAIRMENT_PRESETS, ImpairmentSpec, impairments

__all__ = ["IMPAIRMENT_PRESETS", "ImpairmentSpec", "impairments"]
