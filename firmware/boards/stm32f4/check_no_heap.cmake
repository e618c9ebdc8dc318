# Post-build check: the firmware has no heap. Fails the build if the image contains
# an allocator or sbrk (the linker script provides no `end` symbol, so newlib's
# nosys _sbrk already fails to link; this catches any other path, e.g. a private sbrk).
#   cmake -DNM=<arm-none-eabi-nm> -DELF=<image.elf> -P check_no_heap.cmake
execute_process(COMMAND ${NM} ${ELF} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_no_heap: ${NM} ${ELF} failed")
endif()
string(REGEX MATCHALL "[ \t](malloc|_malloc_r|calloc|_calloc_r|realloc|_realloc_r|free|_free_r|_sbrk|_sbrk_r)\n" found "${syms}")
if(found)
  string(STRIP "${found}" found)
  message(FATAL_ERROR "check_no_heap: ${ELF} links a heap allocator:${found}")
endif()
