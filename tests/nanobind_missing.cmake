# tests/nanobind_missing.cmake — ctest driver: the Python module's build, given a Python without
# nanobind (as pip install --no-build-isolation may be), stops with one line that says so.
foreach(var PYTHON SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "nanobind_missing.cmake needs -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
# The same interpreter without its site-packages: no nanobind there.
file(WRITE "${WORK_DIR}/python" "#!/bin/sh\nexec \"${PYTHON}\" -S \"$@\"\n")
file(CHMOD "${WORK_DIR}/python" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
execute_process(COMMAND ${CMAKE_COMMAND} "-DPython_EXECUTABLE=${WORK_DIR}/python" -P "${SOURCE_DIR}/cmake/nanobind_dir.cmake"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0)
  message(FATAL_ERROR "a Python without nanobind was accepted:\n${out}${err}")
endif()
# CMake frames the message ("CMake Error at ...:" and an indented body): the body is one line.
string(REGEX REPLACE "^CMake Error at [^\n]*\n" "" body "${err}")
string(STRIP "${body}" body)
if(NOT body MATCHES "^nanobind is not installed for [^\n]*pip install [^\n]*$")
  message(FATAL_ERROR "expected one line saying nanobind is missing, got:\n${err}")
endif()
message(STATUS "${body}")
