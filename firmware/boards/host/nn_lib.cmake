# libtheraloop_nn.so: the inference engine (firmware/core/src/nn) as a shared library for
# the Python binding host_tools/theraloop/engine.py (ctypes). Position-independent and not
# sanitized, since it is loaded into an ordinary Python process. The same sources are
# also part of theraloop_core (unit tests, fuzzers, firmware).
set(TL_NN_SOURCES ${TL_CORE_SOURCES})
list(FILTER TL_NN_SOURCES INCLUDE REGEX "/src/nn/")
add_library(theraloop_nn SHARED ${TL_NN_SOURCES})
target_include_directories(theraloop_nn PRIVATE ${TL_CORE_INCLUDES})
target_compile_options(theraloop_nn PRIVATE ${TL_WARNINGS})
set_target_properties(theraloop_nn PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  OUTPUT_NAME theraloop_nn
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
