"""The closed control loop: the device's loop run on the host (software in the loop), its
model-step arithmetic in Python for reference, the device records, the management API and
the factory-model generator.

- :mod:`.sil`      SilLoop: configure, command, feed samples, get the stimulator stream
- :mod:`.quant`    the model step's integer quantisation, bit-exact with the firmware
- :mod:`.records`  telemetry records and events as the device sends them
- :mod:`.client`   status / config / therapy / stream / log over SMP (a Device)
- :mod:`.factory`  build step: factory models and their pipeline presets as C
"""
