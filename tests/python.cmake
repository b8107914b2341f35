# The Python bindings (bindings/python), tested against the library just
# built: the unittest suite and the example script. The package is taken
# from the source tree (PYTHONPATH) and the library from the build
# (SALESFSM_LIBRARY), so an installed copy elsewhere cannot stand in.
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_Interpreter_FOUND)
  message(STATUS "python3 not found: the python tests are not registered")
  return()
endif()

set(SFSM_PY_ENV
  "SALESFSM_LIBRARY=$<TARGET_FILE:salesfsm>"
  "PYTHONPATH=${PROJECT_SOURCE_DIR}/bindings/python"
  "PYTHONDONTWRITEBYTECODE=1")
if(SALESFSM_SANITIZE)
  # An ASan library inside a non-ASan interpreter: the runtime must come
  # first. Leak checking is off here: the interpreter keeps its own
  # allocations to the end, and a leak suppression for it would hide the
  # library's too (every call comes from the interpreter). Library leaks are
  # the C suites' job, and test_memory.py watches RSS over many fires.
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE SFSM_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                  OUTPUT_VARIABLE SFSM_LIBUBSAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND SFSM_PY_ENV "LD_PRELOAD=${SFSM_LIBASAN} ${SFSM_LIBUBSAN}"
       "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1"
       "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()

add_test(NAME python
  COMMAND ${Python3_EXECUTABLE} -m unittest discover
          -s ${PROJECT_SOURCE_DIR}/bindings/python/tests -v)
add_test(NAME python_example
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/bindings/python/examples/quarter_on_sqlite.py)
set_tests_properties(python python_example PROPERTIES ENVIRONMENT "${SFSM_PY_ENV}" TIMEOUT 300)
set_tests_properties(python_example PROPERTIES
  PASS_REGULAR_EXPRESSION "== attainment ==.*team +east +CNY")
