"""Signal processing shared by the device and the host tools.

- :mod:`.design`     band-pass design (scipy) and Q2.29 quantisation; the firmware's table
- :mod:`.config`     the feature pipeline configuration and its feature-vector description
- :mod:`.reference`  float numpy/scipy reference of every feature
- :mod:`.fixed`      the device's integer feature code through the SIL library (ctypes)
"""
