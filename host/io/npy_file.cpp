// host/io/npy_file.cpp — .npy files: read_npy_header, load_npy and save_npy (atomic: a temporary
// file beside the target, renamed into place only when complete).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "core/text.hpp"
#include "dispatch.hpp"
#include "io/chunked_output.hpp"
#include "io/npy_format.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy {

namespace {

std::string path_text(const std::filesystem::path& p) { return detail::quoted(p.string(), '"', 4096); }

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

struct file_closer {
  void operator()(std::FILE* f) const noexcept { (void)std::fclose(f); }
};
using file_ptr = std::unique_ptr<std::FILE, file_closer>;

/// Appends up to `want` bytes from f to `out`, in bounded chunks so that a lying length field costs
/// no more memory than the file really holds. Returns false at end of file; throws on a read error.
bool read_append(std::FILE* f, std::string& out, std::size_t want) {
  constexpr std::size_t chunk = 1 << 16;
  while (want > 0) {
    const std::size_t n = want < chunk ? want : chunk;
    const std::size_t old = out.size();
    out.resize(old + n);
    const std::size_t got = std::fread(out.data() + old, 1, n, f);
    out.resize(old + got);
    want -= got;
    if (got < n) {
      if (std::ferror(f)) {
        const int err = errno;
        throw npy_error("read failed: " + errno_text(err));
      }
      return false;
    }
  }
  return true;
}

}  // namespace

namespace {

/// An open .npy file positioned at its data, with its parsed header. Errors are npy_error without
/// the path (callers add it).
struct opened_npy {
  file_ptr file;
  struct stat st {};
  npy_header header;
};

opened_npy open_npy(const std::filesystem::path& path) {
  opened_npy o;
  // errno is read before anything else can change it (the message's other parts allocate).
  o.file.reset(std::fopen(path.c_str(), "rb"));
  if (!o.file) {
    const int err = errno;
    throw npy_error("cannot open: " + errno_text(err));
  }
  if (::fstat(::fileno(o.file.get()), &o.st) != 0) {
    const int err = errno;
    throw npy_error("cannot stat: " + errno_text(err));
  }
  if (S_ISDIR(o.st.st_mode)) throw npy_error("is a directory");
  // Magic and version, the length field they imply, then exactly as much header as that claims
  // (or the file has): a lying length field costs no more than the file's size.
  std::string head;
  read_append(o.file.get(), head, detail::npy_magic_len);
  if (head.size() == detail::npy_magic_len && head.substr(0, detail::npy_magic_prefix.size()) == detail::npy_magic_prefix) {
    const auto major = static_cast<unsigned char>(head[6]);
    const std::size_t length_field = major == 1 ? 2 : 4;
    if (read_append(o.file.get(), head, length_field))
      read_append(o.file.get(), head, detail::read_le(head, detail::npy_magic_len, length_field));
  }
  o.header = parse_npy_header(head);
  return o;
}

}  // namespace

npy_header read_npy_header(const std::filesystem::path& path) {
  try {
    return open_npy(path).header;
  } catch (const npy_error& e) {
    throw npy_error(".npy file " + path_text(path) + ": " + e.what());
  }
}

host_array load_npy(const std::filesystem::path& path) {
  try {
    opened_npy o = open_npy(path);
    const file_ptr& f = o.file;
    const struct stat& st = o.st;
    const npy_header& h = o.header;
    // Pipes and devices have no size up front; they are read to the end instead.
    const bool sized = S_ISREG(st.st_mode);
    const std::int64_t count = element_count(c_contiguous(h.shape));
    const std::size_t data_bytes = std::size_t(count) * std::size_t(h.type.itemsize);
    const auto truncated = [&](std::size_t have) {
      return npy_error("truncated: expected " + std::to_string(data_bytes) + " bytes of data, file has " +
                       std::to_string(have));
    };
    const auto too_long = [&](std::size_t extra) {
      return npy_error(std::to_string(extra) + " unexpected bytes after the array data (shape " +
                       shape_string(h.shape) + " of " + to_descr(h.type) + " needs " + std::to_string(data_bytes) +
                       ")");
    };
    if (sized) {
      // A file that grew since fstat is caught by the read-to-end check below.
      const std::size_t file_bytes = std::max(std::size_t(st.st_size), h.data_offset);
      const std::size_t have = file_bytes - h.data_offset;
      if (have < data_bytes) throw truncated(have);
      if (have > data_bytes) throw too_long(have - data_bytes);
    }

    host_array a;
    try {
      a = host_array(h.type, h.shape, h.fortran_order ? order::f : order::c,
                     memory_kind::pageable);
    } catch (const std::bad_alloc&) {
      throw npy_error("cannot allocate " + std::to_string(data_bytes) + " bytes for the array data");
    }
    auto* dst = static_cast<char*>(a.data());
    std::size_t done = 0;
    while (done < data_bytes) {
      const std::size_t got = std::fread(dst + done, 1, data_bytes - done, f.get());
      if (got == 0) {
        if (std::ferror(f.get())) {
          const int err = errno;
          throw npy_error("read failed: " + errno_text(err));
        }
        throw truncated(done);
      }
      done += got;
    }
    // Anything left is junk (or the file grew while it was read).
    std::size_t extra = 0;
    char sink[4096];
    for (;;) {
      const std::size_t got = std::fread(sink, 1, sizeof sink, f.get());
      extra += got;
      if (got < sizeof sink) {
        if (std::ferror(f.get())) {
          const int err = errno;
          throw npy_error("read failed: " + errno_text(err));
        }
        break;
      }
    }
    if (extra) throw too_long(extra);
    return a;
  } catch (const npy_error& e) {
    throw npy_error(".npy file " + path_text(path) + ": " + e.what());
  }
}

void save_npy(const std::filesystem::path& path, const view& v, cuda::stream_ref stream) {
  // Every check of the view and its pointer happens before a file exists.
  const plan p = make_plan(v, memory_kind::pageable);
  (void)detail::check_source(p, v.base(), p.source == memory_kind::device);
  const std::string header = make_npy_header(v.type, v.shape());

  static std::atomic<unsigned long long> counter{0};
  const std::string base = path.string() + ".tmp." + std::to_string(::getpid()) + ".";
  std::filesystem::path tmp;
  file_ptr f;
  for (int attempt = 0; attempt < 100 && !f; ++attempt) {
    tmp = base + std::to_string(counter.fetch_add(1));
    // "x": never reuse a name some other writer (or a crashed run with our pid) left behind.
    f.reset(std::fopen(tmp.c_str(), "wbx"));
    if (!f && errno != EEXIST) break;
  }
  if (!f) {
    const int err = errno;
    throw npy_error(".npy file " + path_text(path) + ": cannot create temporary file " + path_text(tmp) + ": " +
                    errno_text(err));
  }

  const auto write_failed = [&](const char* what) {
    const int err = errno;
    return npy_error(".npy file " + path_text(path) + ": " + what + " temporary file " + path_text(tmp) +
                     " failed: " + errno_text(err));
  };
  try {
    if (std::fwrite(header.data(), 1, header.size(), f.get()) != header.size()) throw write_failed("writing");
    detail::for_each_piece(
        p, v.base(), std::size_t(16) << 20,
        [&](const void* bytes, std::size_t n) {
          if (std::fwrite(bytes, 1, n, f.get()) != n) throw write_failed("writing");
        },
        stream.get());
    if (std::fflush(f.get()) != 0 || std::ferror(f.get())) throw write_failed("flushing");
    if (std::fclose(f.release()) != 0) throw write_failed("closing");
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec)
      throw npy_error(".npy file " + path_text(path) + ": cannot rename temporary file " + path_text(tmp) +
                      " into place: " + ec.message());
  } catch (...) {
    f.reset();
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    throw;
  }
}

}  // namespace stridecopy
