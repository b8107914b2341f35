# Runs at install time (install(SCRIPT)): writes salesfsm.pc for the prefix
# being installed to. Inputs are set by install.cmake's install(CODE).
# file(INSTALL) honours DESTDIR and records the file in install_manifest.txt.

if(IS_ABSOLUTE "${SFSM_PC_LIBDIR_RAW}")
  set(_pc_destdir "${SFSM_PC_LIBDIR_RAW}/pkgconfig")
  set(SFSM_PC_LIBDIR "${SFSM_PC_LIBDIR_RAW}")
else()
  set(_pc_destdir "${CMAKE_INSTALL_PREFIX}/${SFSM_PC_LIBDIR_RAW}/pkgconfig")
  set(SFSM_PC_LIBDIR "\${exec_prefix}/${SFSM_PC_LIBDIR_RAW}")
endif()
if(IS_ABSOLUTE "${SFSM_PC_INCLUDEDIR_RAW}")
  set(SFSM_PC_INCLUDEDIR "${SFSM_PC_INCLUDEDIR_RAW}")
else()
  set(SFSM_PC_INCLUDEDIR "\${prefix}/${SFSM_PC_INCLUDEDIR_RAW}")
endif()
set(SFSM_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(PROJECT_VERSION "${SFSM_PC_VERSION}")

configure_file("${SFSM_PC_TEMPLATE}" "${SFSM_PC_OUTPUT}" @ONLY)
file(INSTALL DESTINATION "${_pc_destdir}" TYPE FILE FILES "${SFSM_PC_OUTPUT}")
