# The examples must run: exit code 0 and the output they promise.
if(TARGET quickstart)
  add_test(NAME quickstart_runs
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:quickstart> -DEXPECT=serviced
            -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
  # The README's demo: the same walk on a SQLite file (the embedded default).
  set(_qs_db ${CMAKE_CURRENT_BINARY_DIR}/quickstart_test.db)
  add_test(NAME quickstart_sqlite
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:quickstart> -DARG=${_qs_db} -DREMOVE=${_qs_db}
            -DEXPECT=serviced -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
endif()
