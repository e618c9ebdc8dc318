# Storage backend of the host board (storage_ram.c: RAM flash emulation with power-cut
# injection, and tl_platform_storage), in every host target that implements platform.h.
foreach(t theraloop_host_platform theraloop_sil)
  if(TARGET ${t})
    target_sources(${t} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/storage_ram.c)
  endif()
endforeach()
