#include "input/byte_source.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace cwfilter::input {

std::size_t MemorySource::read(char* out, std::size_t n) {
  std::size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(out, data_.data() + pos_, k);
  pos_ += k;
  consumed_ += k;
  return k;
}

FileSource::~FileSource() {
  if (owned_ && file_ != nullptr) std::fclose(file_);
}

std::size_t FileSource::read(char* out, std::size_t n) {
  if (fault_ || file_ == nullptr) return 0;
  std::size_t k = std::fread(out, 1, n, file_);
  if (k == 0 && std::ferror(file_)) {
    fault_ = StreamFault{consumed_, false, fmt::format("read error: {}", std::strerror(errno)), true};
  }
  consumed_ += k;
  if (k > 0 && on_read_) on_read_(k);
  return k;
}

std::string_view PeekSource::peek(std::size_t n) {
  char tmp[4096];
  while (head_.size() - head_pos_ < n && !inner_eof_) {
    std::size_t k = inner_.read(tmp, sizeof tmp);
    if (k == 0) inner_eof_ = true;
    head_.append(tmp, k);
  }
  std::string_view v(head_);
  v.remove_prefix(head_pos_);
  return v.substr(0, std::min(n, v.size()));
}

std::size_t PeekSource::read(char* out, std::size_t n) {
  std::size_t k;
  if (head_pos_ < head_.size()) {
    k = std::min(n, head_.size() - head_pos_);
    std::memcpy(out, head_.data() + head_pos_, k);
    head_pos_ += k;
  } else {
    k = inner_eof_ ? 0 : inner_.read(out, n);
    if (k == 0) inner_eof_ = true;
  }
  consumed_ += k;
  if (k == 0 && inner_.fault()) fault_ = inner_.fault();
  return k;
}

struct GzipSource::State {
  z_stream z{};
};

namespace {
constexpr std::size_t kChunk = 64 * 1024;
}

GzipSource::GzipSource(ByteSource& compressed, GzipLimits limits)
    : in_(compressed), limits_(limits), z_(new State) {
  // 16 + MAX_WBITS: gzip wrapper only (a zlib or raw stream is corrupt data here).
  if (inflateInit2(&z_->z, 16 + MAX_WBITS) != Z_OK) {
    fail(0, "zlib initialisation failed");
  }
}

GzipSource::~GzipSource() {
  inflateEnd(&z_->z);
  delete z_;
}

std::uint64_t GzipSource::compressed_consumed() const noexcept {
  return buf_start_ + (buf_.size() - z_->z.avail_in);
}

// Keeps the unconsumed bytes and appends the next chunk. Returns false at end of input.
bool GzipSource::refill() {
  if (in_eof_) return false;
  std::size_t keep = z_->z.avail_in;
  std::size_t used = buf_.size() - keep;
  buf_.erase(0, used);
  buf_start_ += used;
  std::size_t old = buf_.size();
  buf_.resize(old + kChunk);
  std::size_t k = in_.read(buf_.data() + old, kChunk);
  buf_.resize(old + k);
  if (k == 0) {
    in_eof_ = true;
    if (in_.fault()) fault_ = in_.fault();
  }
  z_->z.next_in = reinterpret_cast<Bytef*>(buf_.data());
  z_->z.avail_in = static_cast<uInt>(buf_.size());
  return k != 0;
}

void GzipSource::fail(std::uint64_t offset, std::string reason) {
  if (!fault_) fault_ = StreamFault{offset, true, std::move(reason), false};
  done_ = true;
}

std::size_t GzipSource::read(char* out, std::size_t n) {
  z_stream& z = z_->z;
  while (!done_) {
    if (member_done_) {
      // Another member may follow (concatenated gzip, as `cat a.gz b.gz` makes).
      while (z.avail_in < 2 && refill()) {
      }
      if (z.avail_in == 0) {
        done_ = true;
        break;
      }
      const auto* p = z.next_in;
      if (z.avail_in < 2 || p[0] != 0x1f || p[1] != 0x8b) {
        fail(compressed_consumed(), fmt::format("{} byte(s) after the end of a gzip member are not "
                                                "another gzip member",
                                                in_eof_ ? std::to_string(z.avail_in) : "trailing"));
        break;
      }
      inflateReset(&z);
      member_start_ = compressed_consumed();
      member_done_ = false;
    }
    if (z.avail_in == 0) refill();
    z.next_out = reinterpret_cast<Bytef*>(out);
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(n, 1u << 30));
    int rc = inflate(&z, Z_NO_FLUSH);
    std::size_t produced = std::min<std::size_t>(n, 1u << 30) - z.avail_out;
    if (rc == Z_STREAM_END) {
      member_done_ = true;
    } else if (rc == Z_OK || rc == Z_BUF_ERROR) {
      if (produced == 0 && z.avail_in == 0 && in_eof_) {
        if (fault_ && fault_->io_error) {
          done_ = true;
        } else {
          fail(member_start_, fmt::format("truncated gzip member (starts at byte {}, input ends at "
                                          "byte {})",
                                          member_start_, compressed_consumed()));
        }
      }
    } else {
      fail(compressed_consumed(),
           fmt::format("corrupt gzip data: {}", z.msg != nullptr ? z.msg : "inflate failed"));
    }
    std::uint64_t before = consumed_;
    consumed_ += produced;
    if (consumed_ > limits_.max_decompressed_bytes) {
      fail(compressed_consumed(), fmt::format("decompressed size exceeds max_decompressed_bytes ({})",
                                              limits_.max_decompressed_bytes));
      produced = limits_.max_decompressed_bytes > before ? limits_.max_decompressed_bytes - before : 0;
      consumed_ = before + produced;
    } else if (consumed_ > limits_.ratio_guard_min_bytes &&
               consumed_ / std::max<std::uint64_t>(compressed_consumed(), 1) >
                   limits_.max_compression_ratio) {
      fail(compressed_consumed(),
           fmt::format("compression ratio above max_compression_ratio ({}:1) after {} bytes: "
                       "likely a gzip bomb",
                       limits_.max_compression_ratio, consumed_));
      produced = 0;
      consumed_ = before;
    }
    if (produced > 0) return produced;
  }
  return 0;
}

}  // namespace cwfilter::input
