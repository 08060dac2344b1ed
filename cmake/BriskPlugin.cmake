# brisk — brisk_add_plugin(): builds a handler plugin for brisk.
#
#   brisk_add_plugin(NAME source...)
#
# makes a MODULE library `libNAME.so` in ${CMAKE_BINARY_DIR}/plugins/, with
# hidden visibility and a linker version script (brisk-plugin.map): only
# brisk_plugin_entry_v1 is exported, whatever the compiler emits for
# templates. Position-independent code, C++20 for C++ sources, and
# -Wl,--no-undefined: a plugin reaches brisk only through the function table
# given to its entry point, so it has no undefined brisk symbols and never
# links brisk itself. The target is an ordinary CMake target: add sources,
# libraries and options to it as usual.
#
# The headers (brisk/plugin_abi.h, brisk/plugin.hpp, brisk/plugin_testing.hpp)
# are found in BRISK_PLUGIN_INCLUDE_DIR: set by BriskPluginConfig.cmake for an
# installed brisk, or found next to this file in brisk's source tree.
include_guard(GLOBAL)

find_program(BRISK_PLUGIN_CHMOD chmod)
mark_as_advanced(BRISK_PLUGIN_CHMOD)

# Functions are global, variables are not: keep the script's path where
# brisk_add_plugin() finds it from any directory.
set_property(GLOBAL PROPERTY BRISK_PLUGIN_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/brisk-plugin.map")

if(NOT BRISK_PLUGIN_INCLUDE_DIR)
  get_filename_component(_brisk_plugin_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
  if(EXISTS "${_brisk_plugin_root}/core/include/brisk/plugin_abi.h")
    set(BRISK_PLUGIN_INCLUDE_DIR "${_brisk_plugin_root}/core/include")
  else()
    message(FATAL_ERROR "BriskPlugin.cmake: set BRISK_PLUGIN_INCLUDE_DIR to the directory holding brisk/plugin_abi.h")
  endif()
  unset(_brisk_plugin_root)
endif()

# The headers, as a target: plugins and their unit tests link it.
if(NOT TARGET brisk_plugin_headers)
  add_library(brisk_plugin_headers INTERFACE)
  target_include_directories(brisk_plugin_headers INTERFACE "${BRISK_PLUGIN_INCLUDE_DIR}")
endif()
if(NOT TARGET Brisk::plugin_headers)
  add_library(Brisk::plugin_headers ALIAS brisk_plugin_headers)
endif()

function(brisk_add_plugin name)
  if(NOT ARGN)
    message(FATAL_ERROR "brisk_add_plugin(${name}): no sources")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE brisk_plugin_headers)
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/plugins"
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # plugin.hpp needs C++20; a project asking for a newer standard keeps it.
  if(NOT DEFINED CMAKE_CXX_STANDARD OR CMAKE_CXX_STANDARD LESS 20)
    set_target_properties(${name} PROPERTIES CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON)
  endif()
  # brisk refuses a group- or world-writable plugin file, whatever the umask was.
  if(BRISK_PLUGIN_CHMOD)
    add_custom_command(TARGET ${name} POST_BUILD COMMAND "${BRISK_PLUGIN_CHMOD}" go-w "$<TARGET_FILE:${name}>" VERBATIM)
  endif()
  get_property(_script GLOBAL PROPERTY BRISK_PLUGIN_VERSION_SCRIPT)
  target_link_options(${name} PRIVATE "LINKER:--version-script=${_script}")
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${_script}")
  # --no-undefined cannot hold when a sanitizer runtime is linked into the
  # executable only (clang's default): leave it out for sanitized clang builds.
  get_directory_property(_options COMPILE_OPTIONS)
  set(_flags "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS} ${_options}")
  if(BRISK_SANITIZE)
    string(APPEND _flags " -fsanitize=${BRISK_SANITIZE}")
  endif()
  if(NOT (CMAKE_CXX_COMPILER_ID MATCHES "Clang" OR CMAKE_C_COMPILER_ID MATCHES "Clang")
     OR NOT _flags MATCHES "-fsanitize=")
    target_link_options(${name} PRIVATE "LINKER:--no-undefined")
  endif()
endfunction()
