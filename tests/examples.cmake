# The examples must run: exit code 0 and the output they promise.
if(TARGET quickstart)
  add_test(NAME quickstart_runs
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:quickstart> -DEXPECT=serviced
            -P ${PROJECT_SOURCE_DIR}/cmake/run_expect.cmake)
endif()
