"""Model tools: read, check, convert and verify ``.tflite`` models for the engine.

- :mod:`.tflite_file`  parse a ``.tflite`` flatbuffer into typed objects
- :mod:`.support`      can the engine run it, and if not, why
- :mod:`.macs`         multiply-accumulates per op and per inference
- :mod:`.report`       ``theraloop model inspect``
- :mod:`.convert`      ``theraloop model convert`` (C source + metadata struct)
- :mod:`.verify`       ``theraloop model verify`` (engine vs the tflite-micro reference)
- :mod:`.cli`          the ``model`` click group
"""
