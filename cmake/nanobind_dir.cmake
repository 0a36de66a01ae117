# cmake/nanobind_dir.cmake — nanobind_ROOT from the Python that builds the extension module, or one
# line saying nanobind is missing (pip install --no-build-isolation builds with whatever it has).
execute_process(COMMAND "${Python_EXECUTABLE}" -m nanobind --cmake_dir
                OUTPUT_STRIP_TRAILING_WHITESPACE OUTPUT_VARIABLE nanobind_ROOT
                RESULT_VARIABLE nanobind_status ERROR_QUIET)
if(NOT nanobind_status EQUAL 0 OR NOT IS_DIRECTORY "${nanobind_ROOT}")
  # The leading space keeps CMake from wrapping the line.
  message(FATAL_ERROR " nanobind is not installed for ${Python_EXECUTABLE}: pip install \"nanobind>=3.1\" there, "
                      "or let pip build in isolation (without --no-build-isolation)")
endif()
