# examples/custom_store.c over the ERP backend (examples/erp_store.c).
#
# Included by tests/CMakeLists.txt, this file adds the test; run with
# `cmake -P` it is the test's driver: it runs the program twice on a fresh
# database file (the second run must find the first run's deals), then once
# with no argument (a temporary file it deletes itself), and checks the exit
# codes and the output.
if(CMAKE_SCRIPT_MODE_FILE)
  if(NOT DEFINED PROGRAM OR NOT DEFINED DB)
    message(FATAL_ERROR "usage: cmake -DPROGRAM=path -DDB=path -P custom_store.cmake")
  endif()
  file(REMOVE "${DB}" "${DB}-wal" "${DB}-shm")
  foreach(run first second default)
    if(run STREQUAL "default")
      set(args "")
    else()
      set(args "${DB}")
    endif()
    execute_process(COMMAND "${PROGRAM}" ${args}
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    message("---- ${run} run ----\n${out}")
    if(err)
      message("stderr:\n${err}")
    endif()
    if(NOT rc STREQUAL "0")
      message(FATAL_ERROR "${run} run of ${PROGRAM} exited with '${rc}', expected 0")
    endif()
    if(NOT out MATCHES "final stage of D-[0-9]+: serviced")
      message(FATAL_ERROR "${run} run: the walk did not end in 'serviced'")
    endif()
    if(NOT out MATCHES "SFSM_ECONFLICT")
      message(FATAL_ERROR "${run} run: no version conflict shown")
    endif()
  endforeach()
  if(NOT out MATCHES "0 deals on file before this run")
    message(FATAL_ERROR "default run: the temporary database was not fresh")
  endif()
  file(READ "${DB}" header LIMIT 16 HEX)   # "SQLite format 3\0"
  if(NOT header STREQUAL "53514c69746520666f726d6174203300")
    message(FATAL_ERROR "${DB} is not an SQLite database after the runs")
  endif()
  file(REMOVE "${DB}" "${DB}-wal" "${DB}-shm")
  return()
endif()

if(TARGET custom_store)
  add_test(NAME custom_store
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:custom_store>
            -DDB=${CMAKE_CURRENT_BINARY_DIR}/custom_store_test.db
            -P ${CMAKE_CURRENT_LIST_FILE})
endif()
