# Durability tests of the SQLite store (tests/durability): crash safety under
# kill -9 (`crash`) and several processes writing one file (`multiprocess`).
# They are not test_*.c files because they open their own SQLite files (the
# memory/_sqlite pair of the glob would only run them twice) and because
# `crash` also reads the file with SQLite directly (PRAGMA integrity_check).
# Both fork, so they are POSIX-only. The database files go to the build tree.
if(EXISTS ${PROJECT_SOURCE_DIR}/lib/store_sqlite.c AND UNIX)
  find_package(SQLite3 REQUIRED)
  foreach(t crash multiprocess)
    add_executable(durability_${t} durability/${t}.c)
    target_link_libraries(durability_${t} PRIVATE
      salesfsm sfsm_testsupport PkgConfig::CMOCKA SQLite::SQLite3 Threads::Threads)
    add_test(NAME ${t} COMMAND durability_${t})
    set_tests_properties(${t} PROPERTIES
      ENVIRONMENT "TMPDIR=${CMAKE_CURRENT_BINARY_DIR}"
      TIMEOUT 300)
  endforeach()
endif()
