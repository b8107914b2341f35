# Reports on hostile data (tests/report_corrupt): an injected clock at the
# ends of int64 or behind the data, and what a corrupt store hands back,
# planted by a wrapper around the built-in backends. The backends' ops are
# internal (hidden) symbols, so this runner links the static library and
# includes lib/ like the conformance runners. Run on memory and on SQLite.
add_executable(report_corrupt report_corrupt/main.c report_corrupt/tamper.c)
target_include_directories(report_corrupt PRIVATE ${PROJECT_SOURCE_DIR}/lib)
target_link_libraries(report_corrupt PRIVATE salesfsm_static PkgConfig::CMOCKA Threads::Threads)
add_test(NAME report_corrupt COMMAND report_corrupt)
add_test(NAME report_corrupt_sqlite COMMAND report_corrupt)
set_tests_properties(report_corrupt_sqlite PROPERTIES
  ENVIRONMENT "SFSM_TEST_STORE=sqlite;TMPDIR=${CMAKE_CURRENT_BINARY_DIR}")
