# Locate zcbor's C library inside the installed `zcbor` Python package (it ships
# zcbor/src/*.c and zcbor/include/*.h) and build it as a static library.
# Its sources are never copied into this repository.
if(NOT TL_PYTHON)
  message(FATAL_ERROR "TL_PYTHON (the venv's python) is required to locate zcbor; run `make` or pass -DTL_PYTHON=...")
endif()
execute_process(
  # find_spec, not import: the zcbor Python module needs cbor2 < 6, smp needs cbor2 >= 6;
  # we only use the C library the package ships.
  COMMAND "${TL_PYTHON}" -c "import importlib.util as u; print(u.find_spec('zcbor').submodule_search_locations[0])"
  OUTPUT_VARIABLE ZCBOR_DIR
  OUTPUT_STRIP_TRAILING_WHITESPACE
  RESULT_VARIABLE _zcbor_rc)
if(NOT _zcbor_rc EQUAL 0 OR NOT EXISTS "${ZCBOR_DIR}/src/zcbor_decode.c")
  message(FATAL_ERROR "zcbor's C sources were not found via ${TL_PYTHON}: pip install zcbor")
endif()
message(STATUS "zcbor C library: ${ZCBOR_DIR}")

set(TL_ZCBOR_SOURCES
  ${ZCBOR_DIR}/src/zcbor_common.c
  ${ZCBOR_DIR}/src/zcbor_decode.c
  ${ZCBOR_DIR}/src/zcbor_encode.c)

# Third-party code: built with our language level but not with our -Werror.
add_library(zcbor STATIC ${TL_ZCBOR_SOURCES})
target_include_directories(zcbor SYSTEM PUBLIC ${ZCBOR_DIR}/include)
target_compile_options(zcbor PRIVATE -w)
if(TL_BOARD STREQUAL "host")
  tl_sanitize(zcbor)
  add_library(zcbor_pic STATIC ${TL_ZCBOR_SOURCES})
  target_include_directories(zcbor_pic SYSTEM PUBLIC ${ZCBOR_DIR}/include)
  target_compile_options(zcbor_pic PRIVATE -w)
  set_target_properties(zcbor_pic PROPERTIES POSITION_INDEPENDENT_CODE ON)
endif()
