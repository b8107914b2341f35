# Install into a temporary prefix and build the quickstart against the
# installed copy with pkg-config and with find_package (shared and static).
find_program(SFSM_BASH bash REQUIRED)
add_test(NAME install
  COMMAND ${SFSM_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/install_test.sh ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR})
set(_sfsm_install_env "CC=${CMAKE_C_COMPILER}")
set(_sfsm_consumer_flags "")
if(SALESFSM_SANITIZE)
  # Consumers of a sanitized library must link the sanitizer runtimes too.
  string(APPEND _sfsm_consumer_flags " -fsanitize=address,undefined -fno-sanitize-recover=all")
endif()
if(CMAKE_C_FLAGS MATCHES "(^| )(--coverage|-fprofile-arcs)( |$)")
  # The static library of a gcov build (tools/coverage.sh) needs libgcov.
  string(APPEND _sfsm_consumer_flags " --coverage")
endif()
string(STRIP "${_sfsm_consumer_flags}" _sfsm_consumer_flags)
if(_sfsm_consumer_flags)
  list(APPEND _sfsm_install_env "SFSM_CONSUMER_FLAGS=${_sfsm_consumer_flags}")
endif()
set_tests_properties(install PROPERTIES
  ENVIRONMENT "${_sfsm_install_env}"
  TIMEOUT 600)
