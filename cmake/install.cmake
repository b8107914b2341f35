# Installation: libraries, headers, salesfsm.pc and the CMake package
# (find_package(salesfsm CONFIG) -> salesfsm::salesfsm, salesfsm::salesfsm_static).
# Included from the top-level CMakeLists.txt after add_subdirectory(lib).

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SALESFSM_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/salesfsm"
    CACHE STRING "Where to install salesfsmConfig.cmake (relative to the prefix)")

install(TARGETS salesfsm salesfsm_static
  EXPORT salesfsmTargets
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}")

# Public headers, sys/ included (the umbrella header leaves sys/ out, the
# install does not: backend authors need it).
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/salesfsm"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.h")

# CMake package. The exported targets and the config file locate the prefix
# relative to themselves, so the package is relocatable.
install(EXPORT salesfsmTargets
  NAMESPACE salesfsm::
  FILE salesfsmTargets.cmake
  DESTINATION "${SALESFSM_INSTALL_CMAKEDIR}")
configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/salesfsmConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/salesfsmConfig.cmake"
  INSTALL_DESTINATION "${SALESFSM_INSTALL_CMAKEDIR}")
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/salesfsmConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/salesfsmConfig.cmake"
  "${PROJECT_BINARY_DIR}/salesfsmConfigVersion.cmake"
  DESTINATION "${SALESFSM_INSTALL_CMAKEDIR}")

# salesfsm.pc holds absolute paths, so it is generated at install time from
# the prefix actually used (`cmake --install build --prefix DIR` differs from
# the CMAKE_INSTALL_PREFIX seen at configure time); see install_pc.cmake.
install(CODE "
  set(SFSM_PC_TEMPLATE \"${CMAKE_CURRENT_LIST_DIR}/salesfsm.pc.in\")
  set(SFSM_PC_OUTPUT \"${PROJECT_BINARY_DIR}/salesfsm.pc\")
  set(SFSM_PC_VERSION \"${PROJECT_VERSION}\")
  set(SFSM_PC_LIBDIR_RAW \"${CMAKE_INSTALL_LIBDIR}\")
  set(SFSM_PC_INCLUDEDIR_RAW \"${CMAKE_INSTALL_INCLUDEDIR}\")
")
install(SCRIPT "${CMAKE_CURRENT_LIST_DIR}/install_pc.cmake")
