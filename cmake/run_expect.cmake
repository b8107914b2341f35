# ctest helper: cmake -DPROGRAM=path [-DARG=value] [-DREMOVE=file] -DEXPECT=regex -P run_expect.cmake
# Runs PROGRAM, echoes its output, and fails unless it exits 0 AND its
# standard output matches EXPECT. (PASS_REGULAR_EXPRESSION alone would
# ignore the exit code.)
if(NOT DEFINED PROGRAM OR NOT DEFINED EXPECT)
  message(FATAL_ERROR "usage: cmake -DPROGRAM=path -DEXPECT=regex -P run_expect.cmake")
endif()
if(DEFINED REMOVE)
  file(REMOVE "${REMOVE}" "${REMOVE}-wal" "${REMOVE}-shm")
endif()
set(args)
if(DEFINED ARG)
  list(APPEND args "${ARG}")
endif()
execute_process(COMMAND "${PROGRAM}" ${args}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${out}")
if(err)
  message("stderr:\n${err}")
endif()
if(NOT rc STREQUAL "0")
  message(FATAL_ERROR "${PROGRAM} exited with '${rc}', expected 0")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "output of ${PROGRAM} does not match '${EXPECT}'")
endif()
