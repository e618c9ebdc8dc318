"""Model and firmware updates from the host: signed images, upload, activation, confirm.

- `image`: signed MCUboot images (parse, local checks, signing a .tflite / firmware);
- `client`: the SMP image group (1) and model group (66) over a `Device`;
- `model_cmds`: `theraloop model push | list | activate | confirm | rollback`;
- `firmware_cmds`: `theraloop firmware push | confirm | state`.
"""
