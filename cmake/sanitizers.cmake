# cmake/sanitizers.cmake — STRIDECOPY_SANITIZE="address;undefined" (any list of GCC/Clang sanitizer
# names) builds every stridecopy target of this project (library, tests, CLI, benchmarks) with
# those sanitizers. They instrument host code only: nvcc passes each flag to the host compiler, one
# -Xcompiler= per flag (nvcc splits -Xcompiler values at commas, so a joined
# -fsanitize=address,undefined would reach g++ as two broken options). CMake links CUDA programs
# through the host compiler, which takes the plain flags.
#
# STRIDECOPY_SANITIZE_CONSUMER_ARGS: the cache settings a separate project needs to link the
# instrumented library (its C++, CUDA and linker flags), as -D arguments for its configure; empty
# without sanitizers. The installed-package tests pass them on.
set(STRIDECOPY_SANITIZE "" CACHE STRING
    "Sanitizers for stridecopy's own targets, e.g. \"address;undefined\" (empty: none)")

set(STRIDECOPY_SANITIZE_CONSUMER_ARGS "")
if(STRIDECOPY_SANITIZE)
  set(_sc_san_flags "")
  foreach(_sc_san IN LISTS STRIDECOPY_SANITIZE)
    list(APPEND _sc_san_flags "-fsanitize=${_sc_san}")
  endforeach()
  # The first report is the end of the run (the scripts also set halt_on_error=1), and stack
  # traces keep their frames.
  set(_sc_san_compile ${_sc_san_flags} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  list(TRANSFORM _sc_san_compile PREPEND "-Xcompiler=" OUTPUT_VARIABLE _sc_san_cuda)

  add_compile_options(
    "$<$<COMPILE_LANGUAGE:CXX>:${_sc_san_compile}>"
    "$<$<COMPILE_LANGUAGE:CUDA>:${_sc_san_cuda}>")
  add_link_options("$<HOST_LINK:${_sc_san_flags}>")

  list(JOIN _sc_san_compile " " _sc_cxx)
  list(JOIN _sc_san_cuda " " _sc_cuda)
  list(JOIN _sc_san_flags " " _sc_link)
  set(STRIDECOPY_SANITIZE_CONSUMER_ARGS
    "-DCMAKE_CXX_FLAGS=${_sc_cxx}"
    "-DCMAKE_CUDA_FLAGS=${_sc_cuda}"
    "-DCMAKE_EXE_LINKER_FLAGS=${_sc_link}")
  message(STATUS "stridecopy: sanitizers ${STRIDECOPY_SANITIZE} (host code)")
  unset(_sc_san)
  unset(_sc_san_flags)
  unset(_sc_san_compile)
  unset(_sc_san_cuda)
  unset(_sc_cxx)
  unset(_sc_cuda)
  unset(_sc_link)
endif()
