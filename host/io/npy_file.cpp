// host/io/npy_file.cpp — .npy files: read_npy_header, load_npy, and save_npy (through output_file:
// np.save's file behaviour, made safe).
#include <fcntl.h>
#include <sys/mman.h>
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

#include "core/descr.hpp"
#include "core/text.hpp"
#include "cuda/runtime.hpp"
#include "dispatch.hpp"
#include "io/chunked_output.hpp"
#include "io/mapping_guard.hpp"
#include "io/npy_format.hpp"
#include "io/output_file.hpp"
#include "stridecopy/copy.hpp"
#include "stridecopy/error.hpp"
#include "stridecopy/index.hpp"
#include "stridecopy/npy.hpp"
#include "stridecopy/plan.hpp"

namespace stridecopy {

namespace {

/// Pieces of a strided host view are gathered into a buffer this large, then written: small enough
/// to stay in the cache between the gather and the write's copy into the page cache, and for the
/// first write to start early. The CLI on the uint8 BGR swap (15 MB): 13.1 ms with 2 MiB pieces,
/// 10.1 ms with 512 KiB (medians of 15, interleaved); the float32 reversal (60 MB) alike.
constexpr std::size_t save_piece_bytes = std::size_t(512) << 10;

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
        throw file_error("read failed: " + errno_text(err), err, {});
      }
      return false;
    }
  }
  return true;
}

npy_error truncated_error(std::size_t want, std::size_t have) {
  return npy_error("truncated: expected " + std::to_string(want) + " bytes of data, file has " + std::to_string(have));
}

npy_error extra_bytes_error(const npy_header& h, std::size_t want, std::size_t extra) {
  return npy_error(std::to_string(extra) + " unexpected bytes after the array data (shape " + shape_string(h.shape) +
                   " of " + to_descr(h.type) + " needs " + std::to_string(want) + ")");
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
  // The C library would end the name at its first NUL and read another file.
  if (path.native().find('\0') != std::string::npos) throw invalid_argument("embedded null byte in the path");
  // errno is read before anything else can change it (the message's other parts allocate).
  o.file.reset(std::fopen(path.c_str(), "rb"));
  if (!o.file) {
    const int err = errno;
    throw file_error("cannot open: " + errno_text(err), err, {});
  }
  if (::fstat(::fileno(o.file.get()), &o.st) != 0) {
    const int err = errno;
    throw file_error("cannot stat: " + errno_text(err), err, {});
  }
  if (S_ISDIR(o.st.st_mode)) throw file_error("cannot read: " + errno_text(EISDIR), EISDIR, {});
  // Magic and version, the length field they imply, then exactly as much header as that claims
  // (or the file has): a lying length field costs no more than the file's size.
  std::string head;
  read_append(o.file.get(), head, detail::npy_magic_len);
  if (head.size() == detail::npy_magic_len &&
      head.substr(0, detail::npy_magic_prefix.size()) == detail::npy_magic_prefix) {
    const auto major = static_cast<unsigned char>(head[6]);
    const std::size_t length_field = major == 1 ? 2 : 4;
    if (read_append(o.file.get(), head, length_field))
      read_append(o.file.get(), head, detail::read_le(head, detail::npy_magic_len, length_field));
  }
  o.header = parse_npy_header(head);
  return o;
}

/// The exception in flight again, its message prefixed with the file's name (a file_error keeps its
/// errno and gets the path).
[[noreturn]] void rethrow_naming(const std::filesystem::path& path) {
  const std::string prefix = ".npy file " + path_text(path) + ": ";
  try {
    throw;
  } catch (const file_error& e) {
    throw file_error(prefix + e.what(), e.code(), path.string());
  } catch (const npy_error& e) {
    throw npy_error(prefix + e.what());
  } catch (const invalid_argument& e) {
    throw invalid_argument(prefix + e.what());
  }
}

}  // namespace

npy_header read_npy_header(const std::filesystem::path& path) {
  try {
    return open_npy(path).header;
  } catch (const error&) {
    rethrow_naming(path);
  }
}

namespace {

/// The data of an opened .npy file: its size, and for a regular file the size checks (a file that
/// grows afterwards is caught by the read-to-end check of load_npy).
std::size_t data_bytes_of(const opened_npy& o) {
  const npy_header& h = o.header;
  const std::int64_t count = element_count(c_contiguous(h.shape));
  const std::size_t data_bytes = std::size_t(count) * std::size_t(h.type.itemsize);
  if (S_ISREG(o.st.st_mode)) {
    const std::size_t file_bytes = std::max(std::size_t(o.st.st_size), h.data_offset);
    const std::size_t have = file_bytes - h.data_offset;
    if (have < data_bytes) throw truncated_error(data_bytes, have);
    if (have > data_bytes) throw extra_bytes_error(h, data_bytes, have - data_bytes);
  }
  return data_bytes;
}

/// The rest of the file after the header, into `a` (data_bytes), then nothing more.
void read_data(opened_npy& o, host_array& a, std::size_t data_bytes) {
  std::FILE* f = o.file.get();
  auto* dst = static_cast<char*>(a.data());
  std::size_t done = 0;
  while (done < data_bytes) {
    const std::size_t got = std::fread(dst + done, 1, data_bytes - done, f);
    if (got == 0) {
      if (std::ferror(f)) {
        const int err = errno;
        throw file_error("read failed: " + errno_text(err), err, {});
      }
      throw truncated_error(data_bytes, done);
    }
    done += got;
  }
  // Anything left is junk (or the file grew while it was read).
  std::size_t extra = 0;
  char sink[4096];
  for (;;) {
    const std::size_t got = std::fread(sink, 1, sizeof sink, f);
    extra += got;
    if (got < sizeof sink) {
      if (std::ferror(f)) {
        const int err = errno;
        throw file_error("read failed: " + errno_text(err), err, {});
      }
      break;
    }
  }
  if (extra) throw extra_bytes_error(o.header, data_bytes, extra);
}

host_array allocate_for(const npy_header& h, std::size_t data_bytes) {
  try {
    return host_array(h.type, h.shape, h.fortran_order ? order::f : order::c, memory_kind::pageable);
  } catch (const out_of_memory&) {
    throw npy_error("cannot allocate " + std::to_string(data_bytes) + " bytes for the array data");
  }
}

}  // namespace

host_array load_npy(const std::filesystem::path& path, npy_header* header) {
  try {
    opened_npy o = open_npy(path);
    const std::size_t data_bytes = data_bytes_of(o);
    host_array a = allocate_for(o.header, data_bytes);
    read_data(o, a, data_bytes);
    if (header) *header = std::move(o.header);
    return a;
  } catch (const error&) {
    rethrow_naming(path);
  }
}

// ---- mapped_npy

mapped_npy::mapped_npy(const std::filesystem::path& path) {
  try {
    opened_npy o = open_npy(path);
    header_ = o.header;
    data_bytes_ = data_bytes_of(o);
    if (data_bytes_ == 0) return;
    if (S_ISREG(o.st.st_mode)) {
      // The whole file from offset 0 (mmap offsets must be page-aligned; the header is not).
      const std::size_t file_bytes = header_.data_offset + data_bytes_;
      void* m = ::mmap(nullptr, file_bytes, PROT_READ, MAP_PRIVATE, ::fileno(o.file.get()), 0);
      if (m != MAP_FAILED) {
        // Another process may truncate the file while we read it: the guard keeps that from killing
        // this one. Without a guard (every slot taken), the file is read instead.
        const int fd = ::fcntl(::fileno(o.file.get()), F_DUPFD_CLOEXEC, 0);
        if (fd >= 0) {
          guard_ = detail::mapping_guard::make(m, file_bytes, fd, path.string());
          if (!guard_) ::close(fd);
        }
        if (guard_) {
          map_ = m;
          map_bytes_ = file_bytes;
          return;
        }
        (void)::munmap(m, file_bytes);
      }
    }
    // A pipe, a device, or a file system that cannot map: read it.
    loaded_ = allocate_for(header_, data_bytes_);
    read_data(o, loaded_, data_bytes_);
  } catch (const error&) {
    rethrow_naming(path);
  }
}

mapped_npy::mapped_npy(mapped_npy&& other) noexcept
    : header_(std::move(other.header_)),
      data_bytes_(std::exchange(other.data_bytes_, 0)),
      map_(std::exchange(other.map_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)),
      loaded_(std::move(other.loaded_)),
      guard_(std::move(other.guard_)) {}

mapped_npy& mapped_npy::operator=(mapped_npy&& other) noexcept {
  if (this != &other) {
    if (map_) (void)::munmap(map_, map_bytes_);
    header_ = std::move(other.header_);
    data_bytes_ = std::exchange(other.data_bytes_, 0);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
    loaded_ = std::move(other.loaded_);
    guard_ = std::move(other.guard_);
  }
  return *this;
}

mapped_npy::~mapped_npy() {
  if (map_) (void)::munmap(map_, map_bytes_);
}

void mapped_npy::check_intact() const {
  if (guard_) guard_->check();
}

const void* mapped_npy::data() const noexcept {
  return map_ ? static_cast<const std::byte*>(map_) + header_.data_offset : loaded_.data();
}

view mapped_npy::as_view() const {
  view v;
  v.data = data();
  v.type = header_.type;
  v.layout = header_.fortran_order ? f_contiguous(header_.shape) : c_contiguous(header_.shape);
  v.memory = memory_kind::pageable;
  v.allocation = byte_range{v.data, data_bytes_};
  return v;
}

device_array load_npy_to_device(const std::filesystem::path& path, std::string_view numpy_index, stream_ref stream) {
  const mapped_npy file(path);
  const view v = numpy_index.empty() ? file.as_view() : slice(file.as_view(), numpy_index);
  device_array out = to_device(v, stream);
  // The mapping goes away with this function: the copy (whose CPU gather reads it) must be done.
  if (out.bytes()) detail::synchronize(stream.get());
  file.check_intact();
  return out;
}

void save_npy(const std::filesystem::path& path, const view& v, stream_ref stream, std::string_view descr) {
  // Every check of the view, its pointer and the descr happens before a file is touched.
  const plan p = make_plan(v, memory_kind::pageable);
  const detail::checked_source s = detail::check_source(p, v.base(), p.source == memory_kind::device);
  std::string header;
  if (descr.empty()) {
    header = make_npy_header(v.type, v.shape());
  } else {
    const detail::descr_literal d = detail::parse_descr_literal(descr);
    if (d.type.itemsize != v.type.itemsize)
      throw invalid_argument("descr " + detail::quoted(descr) + " describes " + std::to_string(d.type.itemsize) +
                             "-byte elements; the view's are " + std::to_string(v.type.itemsize) + " bytes");
    header = make_npy_header(descr, v.shape());
  }
  detail::output_file out(path);
  // A file written in place is truncated at the first write: a view that reads a mapping of that
  // very file would lose its bytes under the copy (SIGBUS). Such a view is copied out first.
  host_array own;
  plan q = p;
  const void* base = v.base();
  // (Unsigned arithmetic: a span may be wider than 2^63 bytes, and start before the first element.)
  const auto span_first = reinterpret_cast<std::uintptr_t>(s.first) + static_cast<std::uintptr_t>(p.walk.span_begin);
  const std::size_t span_bytes =
      static_cast<std::size_t>(p.walk.span_end) - static_cast<std::size_t>(p.walk.span_begin);
  if (p.source != memory_kind::device && p.bytes > 0 &&
      out.truncates_mapping_of(reinterpret_cast<const void*>(span_first), span_bytes)) {
    own = host_array(v.type, v.shape(), order::c, memory_kind::pageable);
    copy(v, own.data(), own.bytes(), {}, {.how = strategy::cpu});
    const view copy = own.as_view();
    q = make_plan(copy, memory_kind::pageable);
    base = copy.base();
  }
  // A host view may read a mapped input (mapped_npy) that another process truncates meanwhile: its
  // guard turns the lost pages into zeros and a record of the loss, checked before the commit.
  const bool host_reads = p.source != memory_kind::device && p.bytes > 0;
  const void* read_first = reinterpret_cast<const void*>(span_first);
  try {
    out.expect_bytes(header.size() + q.bytes);
    out.write(header.data(), header.size());
    const detail::runs_sink runs = [&](const iovec* r, std::size_t n) { out.write_runs(r, n); };
    detail::for_each_piece(
        q, base, save_piece_bytes, [&](const void* bytes, std::size_t n) { out.write(bytes, n); }, stream.get(), &runs);
  } catch (const error&) {
    // A write straight from a mapping whose file shrank fails with EFAULT: say why.
    if (host_reads) detail::check_mapped_reads(read_first, span_bytes, true);
    throw;
  }
  if (host_reads) detail::check_mapped_reads(read_first, span_bytes);
  out.commit();
}

}  // namespace stridecopy
