# libtheraloop_sil.so: the whole portable core plus the host platform as one shared
# library, for software-in-the-loop runs driven from Python (host_tools/theraloop/sil.py,
# ctypes), with the control loop's SIL entry points (sil_loop.c). Position-independent and not sanitized (loaded into an ordinary Python
# process); the sanitized builds of the same sources are the unit tests and fuzzers.
add_library(theraloop_sil SHARED platform_host.c sil_loop.c)
target_include_directories(theraloop_sil PRIVATE ${TL_CORE_INCLUDES} ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(theraloop_sil PRIVATE ${TL_WARNINGS})
target_link_libraries(theraloop_sil PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,theraloop_core_pic>")
set_target_properties(theraloop_sil PROPERTIES
  POSITION_INDEPENDENT_CODE ON
  OUTPUT_NAME theraloop_sil
  LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
