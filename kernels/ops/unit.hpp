// kernels/ops/unit.hpp — the unit a copy moves (1, 2, 4, 8 or 16 bytes) as an integer
// type, and the one switch from a runtime unit to a compile-time one. Plain C++: the CPU gather uses
// it too.
#pragma once

#include <cstdint>
#include <type_traits>

namespace stridecopy::kernels {

/// Sixteen bytes moved as one: CUDA's uint4 (four 32-bit lanes, 16-byte aligned), declared here so
/// that the CPU code includes no CUDA header. The kernels' vector loads and stores use uint4 itself
/// (vector.cuh).
struct alignas(16) unit16 {
  std::uint32_t x, y, z, w;
};

/// The integer type that moves one unit: a copy never needs the element's own type, only its size.
template <int Unit>
using unit_t = std::conditional_t<
    Unit == 1, std::uint8_t,
    std::conditional_t<
        Unit == 2, std::uint16_t,
        std::conditional_t<Unit == 4, std::uint32_t, std::conditional_t<Unit == 8, unsigned long long, unit16>>>>;
static_assert(sizeof(unit_t<16>) == 16 && alignof(unit_t<16>) == 16);

/// Calls f(std::integral_constant<int, U>{}) for the runtime unit (1, 2, 4, 8; anything else is 16).
template <class F>
decltype(auto) with_unit(int unit, F&& f) {
  switch (unit) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 8: return f(std::integral_constant<int, 8>{});
    default: return f(std::integral_constant<int, 16>{});
  }
}

}  // namespace stridecopy::kernels
