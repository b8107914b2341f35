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

# The same tool given hostile data (tests/cli/test_cli_hostile.py).
if(TARGET salesfsm_cli AND Python3_Interpreter_FOUND)
  add_test(NAME cli_hostile
    COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_cli_hostile.py -v)
  set_tests_properties(cli_hostile PROPERTIES
    ENVIRONMENT "SALESFSM_CLI=$<TARGET_FILE:salesfsm_cli>"
    TIMEOUT 300)
endif()

# The tool's text and JSON writers on their own (tests/cli/test_cli_text.c).
if(TARGET salesfsm_cli)
  add_executable(test_cli_text cli/test_cli_text.c
    ${PROJECT_SOURCE_DIR}/tools/salesfsm/textout.c ${PROJECT_SOURCE_DIR}/tools/salesfsm/jsonw.c)
  target_include_directories(test_cli_text PRIVATE ${PROJECT_SOURCE_DIR}/tools/salesfsm)
  target_compile_definitions(test_cli_text PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(test_cli_text PRIVATE sfsm_testsupport)
  add_test(NAME cli_text COMMAND test_cli_text)
endif()
