# Every public header compiles alone, as C11 and as C++, with -Werror.
find_program(SFSM_BASH bash REQUIRED)
add_test(NAME headers
  COMMAND ${SFSM_BASH} ${CMAKE_CURRENT_SOURCE_DIR}/headers_test.sh ${PROJECT_SOURCE_DIR}/include)
set_tests_properties(headers PROPERTIES
  ENVIRONMENT "CC=${CMAKE_C_COMPILER}")
