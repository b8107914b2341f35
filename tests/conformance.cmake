# The storage conformance suite (tests/conformance): one set of checks on
# the backend ops contract of <salesfsm/sys/store.h>, run against each
# backend by calling its ops directly. The runners are not test_*.c files:
# the built-in backends' ops are internal (hidden) symbols, so those runners
# link the static library and include lib/store_impl.h.
add_library(sfsm_conformance STATIC conformance/conformance.c conformance/tempdb.c)
target_include_directories(sfsm_conformance
  PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/conformance ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(sfsm_conformance PUBLIC PkgConfig::CMOCKA Threads::Threads)

# Built-in memory backend.
add_executable(conformance_memory conformance/memory_main.c)
target_include_directories(conformance_memory PRIVATE ${PROJECT_SOURCE_DIR}/lib)
target_link_libraries(conformance_memory PRIVATE sfsm_conformance salesfsm_static)
add_test(NAME conformance_memory COMMAND conformance_memory)

# Built-in SQLite backend (lib/store_sqlite.c), through its internal
# constructor declared in lib/store_impl.h.
if(EXISTS ${PROJECT_SOURCE_DIR}/lib/store_sqlite.c)
  add_executable(conformance_sqlite conformance/sqlite_main.c)
  target_include_directories(conformance_sqlite PRIVATE ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(conformance_sqlite PRIVATE sfsm_conformance salesfsm_static)
  add_test(NAME conformance_sqlite COMMAND conformance_sqlite)
  set_tests_properties(conformance_sqlite PROPERTIES ENVIRONMENT "TMPDIR=${CMAKE_CURRENT_BINARY_DIR}")
endif()

# The example backend over an ERP's own tables (examples/erp_store.c), when
# the examples and SQLite's pkg-config file are there.
if(TARGET erp_store)
  add_executable(conformance_example conformance/erp_main.c)
  target_link_libraries(conformance_example PRIVATE sfsm_conformance erp_store)
  add_test(NAME conformance_example COMMAND conformance_example)
  set_tests_properties(conformance_example PROPERTIES ENVIRONMENT "TMPDIR=${CMAKE_CURRENT_BINARY_DIR}")
endif()

# Checks the checks: the suite against the memory backend with one injected
# fault at a time; every fault must make more checks fail than the baseline.
add_executable(conformance_selftest conformance/selftest_main.c)
target_include_directories(conformance_selftest PRIVATE ${PROJECT_SOURCE_DIR}/lib)
target_link_libraries(conformance_selftest PRIVATE sfsm_conformance salesfsm_static)
add_test(NAME conformance_selftest COMMAND conformance_selftest)
# Injected faults make checks fail half-way (cmocka longjmps out of them), so
# their scratch copies leak by design: no leak report for this one.
set_tests_properties(conformance_selftest PROPERTIES ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
