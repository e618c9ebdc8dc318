# The image signing key built into the core (update/signing_key.h): the public half of
# TL_SIGNING_KEY (default: the development key keys/dev-ed25519.pem) as C arrays,
# generated into the build tree by scripts/signing_key_c.py. Appends the generated source
# to TL_CORE_SOURCES. Production builds pass -DTL_SIGNING_KEY=<their key> (keys/README.md).
set(TL_SIGNING_KEY ${CMAKE_SOURCE_DIR}/keys/dev-ed25519.pem CACHE FILEPATH
    "Ed25519 PEM whose public key the bootloader and the application trust")
if(NOT TL_PYTHON)
  message(FATAL_ERROR "TL_PYTHON (the host-tools venv's python) is needed to embed the signing key")
endif()
set(TL_SIGNING_KEY_C ${CMAKE_BINARY_DIR}/generated/signing_key.c)
execute_process(
  COMMAND ${TL_PYTHON} ${CMAKE_SOURCE_DIR}/scripts/signing_key_c.py ${TL_SIGNING_KEY} ${TL_SIGNING_KEY_C}
  RESULT_VARIABLE _tl_key_rc)
if(NOT _tl_key_rc EQUAL 0)
  message(FATAL_ERROR "cannot read the signing key ${TL_SIGNING_KEY}")
endif()
add_custom_command(OUTPUT ${TL_SIGNING_KEY_C}
  COMMAND ${TL_PYTHON} ${CMAKE_SOURCE_DIR}/scripts/signing_key_c.py ${TL_SIGNING_KEY} ${TL_SIGNING_KEY_C}
  DEPENDS ${TL_SIGNING_KEY} ${CMAKE_SOURCE_DIR}/scripts/signing_key_c.py
  COMMENT "embedding the image signing key")
list(APPEND TL_CORE_SOURCES ${TL_SIGNING_KEY_C})
