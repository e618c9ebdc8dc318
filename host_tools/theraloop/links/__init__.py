"""Host side of the device's data links (sample link from the AFE, stimulator link).

- :mod:`.afe`  AFE sample frames: encoder, reference decoder, fault injection
"""
