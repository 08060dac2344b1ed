# brisk — what `cmake --install` puts in place for plugin authors:
#
#   include/brisk/plugin_abi.h, plugin.hpp, plugin_testing.hpp, websocket.hpp
#   share/cmake/BriskPlugin/    find_package(BriskPlugin) -> brisk_add_plugin(),
#                               and brisk-plugin.map (the linker version script)
#   share/pkgconfig/brisk-plugin.pc   Cflags only (the headers need no library)
#   share/man/man7/brisk-plugin.7
#
# The package's version is the plugin ABI's (BRISK_PLUGIN_ABI_MAJOR.MINOR):
# find_package(BriskPlugin 1.0) accepts every 1.x. Everything is
# architecture-independent, hence share/.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_brisk_abi_header "${PROJECT_SOURCE_DIR}/core/include/brisk/plugin_abi.h")
file(STRINGS "${_brisk_abi_header}" _brisk_abi_major REGEX "^#define BRISK_PLUGIN_ABI_MAJOR [0-9]+")
file(STRINGS "${_brisk_abi_header}" _brisk_abi_minor REGEX "^#define BRISK_PLUGIN_ABI_MINOR [0-9]+")
string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _brisk_abi_major "${_brisk_abi_major}")
string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _brisk_abi_minor "${_brisk_abi_minor}")
set(BRISK_PLUGIN_ABI_VERSION "${_brisk_abi_major}.${_brisk_abi_minor}")

install(FILES
    "${PROJECT_SOURCE_DIR}/core/include/brisk/plugin_abi.h"
    "${PROJECT_SOURCE_DIR}/core/include/brisk/plugin.hpp"
    "${PROJECT_SOURCE_DIR}/core/include/brisk/plugin_testing.hpp"
    "${PROJECT_SOURCE_DIR}/core/include/brisk/websocket.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/brisk"
  COMPONENT plugin-dev)

# CMake package
set(_brisk_cmake_dir "${CMAKE_INSTALL_DATADIR}/cmake/BriskPlugin")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/BriskPluginConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cmake/BriskPluginConfig.cmake"
  INSTALL_DESTINATION "${_brisk_cmake_dir}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/cmake/BriskPluginConfigVersion.cmake"
  VERSION "${BRISK_PLUGIN_ABI_VERSION}"
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES
    "${PROJECT_SOURCE_DIR}/cmake/BriskPlugin.cmake"
    "${PROJECT_SOURCE_DIR}/cmake/brisk-plugin.map"
    "${PROJECT_BINARY_DIR}/cmake/BriskPluginConfig.cmake"
    "${PROJECT_BINARY_DIR}/cmake/BriskPluginConfigVersion.cmake"
  DESTINATION "${_brisk_cmake_dir}"
  COMPONENT plugin-dev)

# pkg-config: relocatable (paths relative to the .pc file's directory)
set(_brisk_pc_dir "${CMAKE_INSTALL_DATADIR}/pkgconfig")
file(RELATIVE_PATH _brisk_pc_to_prefix "/prefix/${_brisk_pc_dir}" "/prefix")
string(REGEX REPLACE "/$" "" _brisk_pc_to_prefix "${_brisk_pc_to_prefix}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(BRISK_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(BRISK_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(BRISK_PC_PREFIX "\${pcfiledir}/${_brisk_pc_to_prefix}")
set(BRISK_PC_MAPFILE "\${prefix}/${_brisk_cmake_dir}/brisk-plugin.map")
configure_file("${PROJECT_SOURCE_DIR}/cmake/brisk-plugin.pc.in" "${PROJECT_BINARY_DIR}/cmake/brisk-plugin.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/cmake/brisk-plugin.pc"
  DESTINATION "${_brisk_pc_dir}"
  COMPONENT plugin-dev)

install(FILES "${PROJECT_SOURCE_DIR}/man/brisk-plugin.7"
  DESTINATION "${CMAKE_INSTALL_MANDIR}/man7"
  COMPONENT plugin-dev)
