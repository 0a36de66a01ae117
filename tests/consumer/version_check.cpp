// tests/consumer/version_check.cpp — the installed stridecopy/version.hpp states the version the
// installed CMake package does (both come from the project's one project(VERSION)); checked as it compiles.
#include <stridecopy/version.hpp>

#include <string_view>

static_assert(std::string_view(STRIDECOPY_VERSION_STRING) == std::string_view(STRIDECOPY_PACKAGE_VERSION),
              "stridecopy/version.hpp and the CMake package disagree on the version");
