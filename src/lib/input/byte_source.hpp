// Pull-style byte streams the readers are built on: a file/stdin, a memory buffer, and a gzip
// decoder layered on either. A stream that fails stops (read returns 0) and keeps the fault.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace cwfilter::input {

// A fault that ends a stream early; reported as a malformed record by the reader.
struct StreamFault {
  std::uint64_t offset = 0;        // byte offset in the stream's own input
  bool compressed_offset = false;  // offset counts compressed bytes (gzip)
  std::string reason;
  bool io_error = false;           // the OS failed to read: an Error, not malformed content
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes; 0 means end of stream (or a fault, see fault()).
  virtual std::size_t read(char* out, std::size_t n) = 0;
  const std::optional<StreamFault>& fault() const noexcept { return fault_; }
  std::uint64_t bytes_consumed() const noexcept { return consumed_; }

 protected:
  std::optional<StreamFault> fault_;
  std::uint64_t consumed_ = 0;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  std::size_t read(char* out, std::size_t n) override;

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

// Reads a FILE* it does not own (stdin) or owns (close_on_destroy). `on_read`, if set, is told
// the size of every chunk read (progress displays).
class FileSource final : public ByteSource {
 public:
  FileSource(std::FILE* file, bool close_on_destroy, std::function<void(std::size_t)> on_read = {})
      : file_(file), owned_(close_on_destroy), on_read_(std::move(on_read)) {}
  ~FileSource() override;
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;
  std::size_t read(char* out, std::size_t n) override;

 private:
  std::FILE* file_;
  bool owned_;
  std::function<void(std::size_t)> on_read_;
};

// Lets the reader look at the first bytes (gzip magic) and then read them again.
class PeekSource final : public ByteSource {
 public:
  explicit PeekSource(ByteSource& inner) : inner_(inner) {}
  // Returns up to n first bytes without consuming them (n small).
  std::string_view peek(std::size_t n);
  std::size_t read(char* out, std::size_t n) override;
  const std::optional<StreamFault>& inner_fault() const noexcept { return inner_.fault(); }

 private:
  ByteSource& inner_;
  std::string head_;
  std::size_t head_pos_ = 0;
  bool inner_eof_ = false;
};

struct GzipLimits {
  std::uint64_t max_decompressed_bytes;
  std::uint64_t max_compression_ratio;
  std::uint64_t ratio_guard_min_bytes;
};

// Decompresses one or more concatenated gzip members. Faults: a truncated member (reported at the
// member's first byte), corrupt data, data after a member that is not another member, and the
// decompression limits (gzip bombs).
class GzipSource final : public ByteSource {
 public:
  GzipSource(ByteSource& compressed, GzipLimits limits);
  ~GzipSource() override;
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  std::size_t read(char* out, std::size_t n) override;
  std::uint64_t compressed_consumed() const noexcept;

 private:
  bool refill();
  void fail(std::uint64_t offset, std::string reason);

  ByteSource& in_;
  GzipLimits limits_;
  struct State;
  State* z_;  // zlib's z_stream, kept out of the header
  std::string buf_;
  std::uint64_t buf_start_ = 0;   // compressed offset of buf_[0]
  std::uint64_t member_start_ = 0;
  bool in_eof_ = false;
  bool member_done_ = false;
  bool done_ = false;
};

}  // namespace cwfilter::input
