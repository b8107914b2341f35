# The salesfsm command-line tool, run as a user would: tests/cli/test_cli.py
# (Python 3 standard library only) in a temporary directory, with the built
# binary named by SALESFSM_CLI.
if(TARGET salesfsm_cli)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME cli
      COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli.py -v)
    # Under SALESFSM_SANITIZE the binary is the ASan build: a leak or an
    # error makes it exit non-zero, which the test reports.
    set_tests_properties(cli PROPERTIES
      ENVIRONMENT "SALESFSM_CLI=$<TARGET_FILE:salesfsm_cli>"
      TIMEOUT 300)
  else()
    message(STATUS "python3 not found: the cli test is not registered")
  endif()
endif()
