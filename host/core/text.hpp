// host/core/text.hpp — user input quoted for messages (internal): every message that echoes a
// string, a descr, an index, a header or a path escapes it the same way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace stridecopy::detail {

/// `text` between `quote` marks (none when quote is '\0'), escaped so the message stays on one line
/// and unambiguous: the quote mark and backslash get a backslash, newline and tab are \n and \t,
/// other control and non-ASCII bytes are \xNN. At most `limit` characters of `text` are kept, then "...".
std::string quoted(std::string_view text, char quote = '"', std::size_t limit = std::string_view::npos);

}  // namespace stridecopy::detail
