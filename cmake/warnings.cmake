# cmake/warnings.cmake — the warning flags for stridecopy's own targets (C++ and CUDA sources).
function(stridecopy_warnings target)
  set(cxx_flags -Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion)
  set(cuda_flags -Xcompiler=-Wall,-Wextra --Werror=all-warnings)
  if(STRIDECOPY_WERROR)
    list(APPEND cxx_flags -Werror)
    list(APPEND cuda_flags -Xcompiler=-Werror)
  else()
    set(cuda_flags -Xcompiler=-Wall,-Wextra)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:${cxx_flags}>
    $<$<COMPILE_LANGUAGE:CUDA>:${cuda_flags}>)
endfunction()
