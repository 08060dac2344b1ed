# brisk — fails when core/include/brisk/plugin_abi.h changed without a
# version bump. tests/plugins/abi_fingerprint.txt holds "MAJOR.MINOR SHA256"
# of the header as last released; any change to the header must come with a
# new BRISK_PLUGIN_ABI_MINOR (append-only change) or BRISK_PLUGIN_ABI_MAJOR
# (anything else), and a new fingerprint.
#
#   cmake -P tests/plugins/abi_fingerprint.cmake               check
#   cmake -DUPDATE=ON -P tests/plugins/abi_fingerprint.cmake   rewrite the fingerprint (after the bump)
#
# HEADER and FINGERPRINT may be given with -D. With -DSELFTEST=ON
# -DWORK_DIR=DIR it checks itself on altered copies of the header in DIR.
cmake_minimum_required(VERSION 3.25)

get_filename_component(_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
if(NOT HEADER)
  set(HEADER "${_root}/core/include/brisk/plugin_abi.h")
endif()
if(NOT FINGERPRINT)
  set(FINGERPRINT "${CMAKE_CURRENT_LIST_DIR}/abi_fingerprint.txt")
endif()

file(STRINGS "${HEADER}" _major REGEX "^#define BRISK_PLUGIN_ABI_MAJOR [0-9]+")
file(STRINGS "${HEADER}" _minor REGEX "^#define BRISK_PLUGIN_ABI_MINOR [0-9]+")
string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _major "${_major}")
string(REGEX REPLACE ".* ([0-9]+).*" "\\1" _minor "${_minor}")
if(NOT _major MATCHES "^[0-9]+$" OR NOT _minor MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${HEADER}: no BRISK_PLUGIN_ABI_MAJOR / BRISK_PLUGIN_ABI_MINOR defines found")
endif()
set(_version "${_major}.${_minor}")

if(SELFTEST)
  # Runs this script on copies of the header in WORK_DIR; fails if a check misbehaves.
  if(NOT WORK_DIR)
    message(FATAL_ERROR "SELFTEST needs -DWORK_DIR=...")
  endif()
  file(MAKE_DIRECTORY "${WORK_DIR}")
  function(_run expect_ok expect_regex header)
    execute_process(
      COMMAND "${CMAKE_COMMAND}" -DHEADER=${header} -DFINGERPRINT=${WORK_DIR}/fingerprint.txt ${ARGN}
              -P "${CMAKE_CURRENT_LIST_FILE}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    string(REGEX REPLACE "[ \t\r\n]+" " " text "${out}${err}")
    if((expect_ok AND NOT rc EQUAL 0) OR (NOT expect_ok AND rc EQUAL 0) OR NOT text MATCHES "${expect_regex}")
      message(FATAL_ERROR "abi fingerprint self-test: ${header} ${ARGN}: exit ${rc}, expected "
                          "${expect_ok}/'${expect_regex}', got: ${text}")
    endif()
  endfunction()
  file(READ "${HEADER}" _text)
  math(EXPR _next "${_minor} + 1")
  file(WRITE "${WORK_DIR}/same.h" "${_text}")
  file(WRITE "${WORK_DIR}/changed.h" "${_text}/* a change */\n")
  string(REGEX REPLACE "#define BRISK_PLUGIN_ABI_MINOR [0-9]+" "#define BRISK_PLUGIN_ABI_MINOR ${_next}" _bumped "${_text}")
  file(WRITE "${WORK_DIR}/bumped.h" "${_bumped}/* a change */\n")
  _run(TRUE "wrote" "${WORK_DIR}/same.h" -DUPDATE=ON)
  _run(TRUE "unchanged" "${WORK_DIR}/same.h")
  _run(FALSE "Bump BRISK_PLUGIN_ABI_MINOR" "${WORK_DIR}/changed.h")
  _run(FALSE "record the new fingerprint '${_major}.${_next} [0-9a-f]+'" "${WORK_DIR}/bumped.h")
  _run(TRUE "wrote '${_major}.${_next} " "${WORK_DIR}/bumped.h" -DUPDATE=ON)
  _run(TRUE "unchanged" "${WORK_DIR}/bumped.h")
  _run(FALSE "goes back" "${WORK_DIR}/same.h")
  message(STATUS "abi fingerprint self-test: ok")
  return()
endif()
file(SHA256 "${HEADER}" _hash)
set(_line "${_version} ${_hash}")

if(UPDATE)
  file(WRITE "${FINGERPRINT}" "${_line}\n")
  message(STATUS "abi fingerprint: wrote '${_line}' to ${FINGERPRINT}")
  return()
endif()

file(STRINGS "${FINGERPRINT}" _recorded LIMIT_COUNT 1)
if(NOT _recorded MATCHES "^([0-9]+)\\.([0-9]+) ([0-9a-f]+)$")
  message(FATAL_ERROR "${FINGERPRINT}: expected one line 'MAJOR.MINOR SHA256', found '${_recorded}'")
endif()
set(_old_major "${CMAKE_MATCH_1}")
set(_old_minor "${CMAKE_MATCH_2}")
set(_old_hash "${CMAKE_MATCH_3}")
set(_old_version "${_old_major}.${_old_minor}")

set(_update "cmake -DUPDATE=ON -P ${CMAKE_CURRENT_LIST_FILE}")

if(_hash STREQUAL _old_hash)
  if(NOT _version STREQUAL _old_version)
    message(FATAL_ERROR "abi fingerprint: ${FINGERPRINT} says ${_old_version} for the same header, which says ${_version}; fix the file")
  endif()
  message(STATUS "abi fingerprint: plugin_abi.h ${_version} unchanged")
  return()
endif()

if(_version STREQUAL _old_version)
  message(FATAL_ERROR
    "abi fingerprint: plugin_abi.h changed but its version is still ${_version}.\n"
    "Bump BRISK_PLUGIN_ABI_MINOR (a field or function appended, a constant added) or "
    "BRISK_PLUGIN_ABI_MAJOR (anything else, with a new entry symbol) in ${HEADER}, "
    "then record the new fingerprint: ${_update}")
endif()

if(_major LESS _old_major OR (_major EQUAL _old_major AND _minor LESS _old_minor))
  message(FATAL_ERROR "abi fingerprint: plugin_abi.h goes back from ${_old_version} to ${_version}")
endif()

message(FATAL_ERROR
  "abi fingerprint: plugin_abi.h is now ${_version} (was ${_old_version}): "
  "record the new fingerprint '${_line}' in ${FINGERPRINT}: ${_update}")
