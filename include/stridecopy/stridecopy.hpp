// stridecopy/stridecopy.hpp — umbrella header: everything a user of stridecopy needs.
#pragma once

#include "stridecopy/copy.hpp"
#include "stridecopy/device_array.hpp"
#include "stridecopy/dtype.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/host_array.hpp"
#include "stridecopy/host_buffer.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/layout.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/npy_header.hpp"
#include "stridecopy/options.hpp"
#include "stridecopy/plan.hpp"
#include "stridecopy/stream.hpp"
#include "stridecopy/version.hpp"
#include "stridecopy/view.hpp"
