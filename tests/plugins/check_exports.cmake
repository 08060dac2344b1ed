# brisk — a plugin exports one dynamic symbol: brisk_plugin_entry_v1.
#   cmake -DNM=nm -DPLUGINS="a.so;b.so" -P check_exports.cmake
foreach(so IN LISTS PLUGINS)
  execute_process(COMMAND "${NM}" -D --defined-only "${so}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${so}: ${err}")
  endif()
  string(REGEX MATCHALL "[^\n]+" lines "${out}")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE "^.* " "" name "${line}")
    list(APPEND names "${name}")
  endforeach()
  if(NOT names STREQUAL "brisk_plugin_entry_v1")
    message(FATAL_ERROR "${so} exports '${names}'; a plugin exports brisk_plugin_entry_v1 only "
                        "(build it with brisk_add_plugin: hidden visibility)")
  endif()
  message(STATUS "${so}: exports brisk_plugin_entry_v1 only")
endforeach()
