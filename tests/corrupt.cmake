# The corrupt-store suite (tests/corrupt/test_corrupt.py): every command of
# the salesfsm tool on a demo store damaged row by row and byte by byte.
# Python 3 standard library only; the binary is named by SALESFSM_CLI, so a
# sanitizer build tests its own (ASan+UBSan) binary.
if(NOT TARGET salesfsm_cli)
  return()
endif()
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "python3 not found: the cli_corrupt test is not registered")
  return()
endif()

set(SFSM_CORRUPT_ENV "SALESFSM_CLI=$<TARGET_FILE:salesfsm_cli>" "PYTHONDONTWRITEBYTECODE=1")
if(SALESFSM_SANITIZE)
  # A sanitized process costs ~0.1 s before it does anything: every case, its
  # write, and one other command in 8 (a different one per case).
  list(APPEND SFSM_CORRUPT_ENV "SALESFSM_CORRUPT_SAMPLE=8")
endif()
# Named cli_* so that tools/valgrind.sh treats it as the other CLI suites:
# run under memcheck only with FULL=1 or VG_CLI=1 (thousands of processes).
add_test(NAME cli_corrupt
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/corrupt/test_corrupt.py)
set_tests_properties(cli_corrupt PROPERTIES ENVIRONMENT "${SFSM_CORRUPT_ENV}" TIMEOUT 600)
