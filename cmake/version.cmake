# Generate version.h with the current `git describe`. Runs at every build (as a script:
# cmake -DSRC=... -DOUT=... -DVERSION=... -P version.cmake); configure_file only rewrites
# the header when its contents change, so an unchanged revision rebuilds nothing.
execute_process(
  COMMAND git describe --always --dirty --abbrev=12
  WORKING_DIRECTORY ${SRC}
  OUTPUT_VARIABLE TL_GIT_DESCRIBE OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT TL_GIT_DESCRIBE)
  set(TL_GIT_DESCRIBE "unknown")
endif()
string(REPLACE "." ";" _parts "${VERSION}")
list(GET _parts 0 PROJECT_VERSION_MAJOR)
list(GET _parts 1 PROJECT_VERSION_MINOR)
list(GET _parts 2 PROJECT_VERSION_PATCH)
set(PROJECT_VERSION "${VERSION}")
configure_file(${SRC}/firmware/core/include/theraloop/version.h.in ${OUT} @ONLY)
