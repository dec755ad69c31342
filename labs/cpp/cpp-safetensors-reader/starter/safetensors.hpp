// TODO: MappedFile (open/mmap/close, moves, release), the JSON depth limit,
// SafetensorsFile::parse_header and the checks in values<T> (see README.md).
// The dtype table, the rest of the JSON parser and the field reader are done.
//
// safetensors.hpp: a validating, zero-copy reader for .safetensors files.
//
// File layout: an 8-byte little-endian unsigned header length N, N bytes of
// UTF-8 JSON (an object; trailing spaces allowed as padding), then the data
// section. Every key except "__metadata__" names a tensor:
//   "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// with begin/end byte offsets relative to the start of the data section.
// "__metadata__" maps strings to strings. The file is memory-mapped
// read-only; views point straight into the mapping.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace st {

enum class Errc {
  Io,                   // open / fstat / mmap failed, or not a regular file
  HeaderTooSmall,       // fewer than 8 bytes: no header length
  HeaderLengthPastEof,  // N > file size - 8
  HeaderTooLarge,       // N > kMaxHeaderSize
  InvalidHeader,        // not a JSON object, bad JSON, wrong/missing/extra fields, duplicate keys, nesting too deep
  UnknownDtype,         // a dtype string this reader does not know
  ShapeOverflow,        // the element count or byte count does not fit in 64 bits
  SizeMismatch,         // end - begin != elements * dtype size
  InvalidOffsets,       // begin > end, or end past the end of the data section
  OffsetsOverlap,       // two tensors share bytes
  IncompleteBuffer,     // bytes of the data section that no tensor covers (a gap or trailing bytes)
  NotFound,             // no tensor of that name
  WrongDtype,           // values<T>() with a T that is not the tensor's dtype
  Misaligned,           // values<T>() on data not aligned for T (header length not a multiple of 8)
};

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

inline constexpr std::uint64_t kMaxHeaderSize = 100'000'000;  // the reference implementation's cap
inline constexpr int kMaxDepth = 64;                           // JSON nesting; a header needs 3

// ------------------------------------------------------------------ dtypes

enum class Dtype { BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64 };

struct DtypeInfo {
  std::string_view name;
  Dtype dtype;
  std::size_t size;
};

inline constexpr DtypeInfo kDtypes[] = {
    {"BOOL", Dtype::BOOL, 1}, {"U8", Dtype::U8, 1},   {"I8", Dtype::I8, 1},     {"F8_E5M2", Dtype::F8_E5M2, 1},
    {"F8_E4M3", Dtype::F8_E4M3, 1}, {"I16", Dtype::I16, 2}, {"U16", Dtype::U16, 2}, {"F16", Dtype::F16, 2},
    {"BF16", Dtype::BF16, 2}, {"I32", Dtype::I32, 4}, {"U32", Dtype::U32, 4}, {"F32", Dtype::F32, 4},
    {"I64", Dtype::I64, 8},   {"U64", Dtype::U64, 8}, {"F64", Dtype::F64, 8},
};

inline std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& d : kDtypes)
    if (d.name == name) return d.dtype;
  return std::nullopt;
}

inline std::size_t dtype_size(Dtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d.size;
  return 0;
}

// The dtype a C++ element type reads (values<T>); F16, BF16 and F8 have no
// C++ type here: read them through TensorView::bytes.
template <class T>
constexpr Dtype dtype_of() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return Dtype::U8;
  else if constexpr (std::is_same_v<T, std::int8_t>) return Dtype::I8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return Dtype::I16;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return Dtype::U16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return Dtype::I32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return Dtype::U32;
  else if constexpr (std::is_same_v<T, float>) return Dtype::F32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return Dtype::I64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return Dtype::U64;
  else if constexpr (std::is_same_v<T, double>) return Dtype::F64;
  else static_assert(sizeof(T) == 0, "no safetensors dtype for this type");
}

// ------------------------------------------------------------------ JSON

struct Json {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool boolean = false;
  bool is_uint = false;  // a number written as a non-negative integer that fits in 64 bits
  std::uint64_t uint = 0;
  std::string text;  // a string's value (UTF-8)
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order; keys unique
};

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  // The whole text must be one value, with only whitespace around it.
  Json parse_document() {
    Json v = value(0);
    skip_ws();
    if (i_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(Errc::InvalidHeader, "invalid header JSON at byte " + std::to_string(i_) + ": " + why);
  }

  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  bool eat(char c) {
    skip_ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }

  Json value(int depth) {
    (void)depth;  // TODO: fail() past kMaxDepth levels instead of recursing until the stack overflows
    skip_ws();
    if (i_ >= s_.size()) fail("unexpected end of header");
    const char c = s_[i_];
    Json v;
    if (c == '{') {
      ++i_;
      v.kind = Json::Kind::Object;
      if (eat('}')) return v;
      do {
        skip_ws();
        if (i_ >= s_.size() || s_[i_] != '"') fail("expected a string key");
        std::string key = string();
        for (const auto& [k, unused] : v.object)
          if (k == key) fail("duplicate key \"" + key + "\"");
        expect(':');
        v.object.emplace_back(std::move(key), value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = Json::Kind::Array;
      if (eat(']')) return v;
      do {
        v.array.push_back(value(depth + 1));
      } while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::String;
      v.text = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v = number();
    } else if (literal("true")) {
      v.kind = Json::Kind::Bool;
      v.boolean = true;
    } else if (literal("false")) {
      v.kind = Json::Kind::Bool;
    } else if (!literal("null")) {
      fail("unexpected character");
    }
    return v;
  }

  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  Json number() {
    Json v;
    v.kind = Json::Kind::Number;
    const bool negative = s_[i_] == '-';
    if (negative) ++i_;
    if (i_ >= s_.size() || !digit(s_[i_])) fail("a number needs digits");
    bool fits = true;
    std::uint64_t n = 0;
    if (s_[i_] == '0') {
      ++i_;
      if (i_ < s_.size() && digit(s_[i_])) fail("leading zeros are not JSON");
    } else {
      while (i_ < s_.size() && digit(s_[i_])) {
        const auto d = static_cast<std::uint64_t>(s_[i_] - '0');
        if (n > (UINT64_MAX - d) / 10) fits = false;
        n = n * 10 + d;
        ++i_;
      }
    }
    bool integral = true;
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      integral = false;
      if (i_ >= s_.size() || !digit(s_[i_])) fail("a fraction needs digits");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      integral = false;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) fail("an exponent needs digits");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    v.is_uint = !negative && integral && fits;
    v.uint = v.is_uint ? n : 0;
    return v;
  }

  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      u <<= 4;
      if (h >= '0' && h <= '9') u |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') u |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') u |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return u;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    ++i_;  // the opening quote
    std::string out;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      const char c = s_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate needs its low half
            if (!literal("\\u")) fail("lone high surrogate");
            const unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone low surrogate");
          }
          utf8(out, cp);
          break;
        }
        default: fail(std::string("bad escape \\") + e);
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

inline Json parse_json(std::string_view text) { return JsonParser(text).parse_document(); }

// ------------------------------------------------------------------ the mapping

// A read-only memory mapping of a whole file, released exactly once.
class MappedFile {
 public:
  MappedFile() = default;

  explicit MappedFile(const std::string& path) {
    // TODO: open (O_RDONLY | O_CLOEXEC), fstat (a regular file only), mmap the
    // whole file read-only (an empty file maps nothing), close the descriptor.
    // Failures throw Error(Errc::Io, ...) with the path and strerror(errno).
    (void)path;
  }

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  MappedFile(MappedFile&& other) noexcept : addr_(other.addr_), size_(other.size_) {}  // TODO

  MappedFile& operator=(MappedFile&& other) noexcept {
    addr_ = other.addr_;  // TODO
    size_ = other.size_;
    return *this;
  }

  ~MappedFile() { release(); }

  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(addr_), size_}; }

 private:
  void release() noexcept {
    // TODO: munmap what this object maps, exactly once
  }

  void* addr_ = nullptr;
  std::size_t size_ = 0;
};

// ------------------------------------------------------------------ the reader

struct TensorInfo {
  std::string name;
  Dtype dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t begin;  // byte offsets into the data section
  std::uint64_t end;
};

struct TensorView {
  Dtype dtype;
  std::span<const std::uint64_t> shape;
  std::span<const std::byte> bytes;

  std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (auto d : shape) n *= d;  // validated at open: cannot overflow
    return n;
  }
};

class SafetensorsFile {
 public:
  // Map `path`, parse and validate its header. Throws st::Error.
  static SafetensorsFile open(const std::string& path) {
    SafetensorsFile f;
    f.file_ = MappedFile(path);
    f.parse_header();
    return f;
  }

  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in data order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::size_t data_start() const { return data_start_; }  // 8 + N: where offset 0 lies in the file

  bool contains(std::string_view name) const { return find(name) != nullptr; }

  TensorView view(std::string_view name) const {
    const TensorInfo* t = find(name);
    if (t == nullptr) throw Error(Errc::NotFound, "no tensor named \"" + std::string(name) + "\"");
    const auto data = file_.bytes().subspan(data_start_);
    return TensorView{t->dtype, t->shape, data.subspan(t->begin, t->end - t->begin)};
  }

  // The elements as T, without a copy. T must be the tensor's dtype and the
  // data must be aligned for T (it is when the header is padded to 8 bytes).
  template <class T>
  std::span<const T> values(std::string_view name) const {
    const TensorView v = view(name);
    // TODO: Errc::WrongDtype unless v.dtype == dtype_of<T>(); Errc::Misaligned
    // unless the first byte's address is a multiple of alignof(T).
    return {reinterpret_cast<const T*>(v.bytes.data()), v.bytes.size() / sizeof(T)};
  }

 private:
  const TensorInfo* find(std::string_view name) const {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

  static std::uint64_t as_uint(const Json& j, const std::string& what) {
    if (j.kind != Json::Kind::Number || !j.is_uint)
      throw Error(Errc::InvalidHeader, what + " must be a non-negative integer that fits in 64 bits");
    return j.uint;
  }

  static TensorInfo tensor(const std::string& name, const Json& j) {
    if (j.kind != Json::Kind::Object) throw Error(Errc::InvalidHeader, "\"" + name + "\" must be an object");
    const Json *dtype = nullptr, *shape = nullptr, *offsets = nullptr;
    for (const auto& [k, v] : j.object) {
      if (k == "dtype") dtype = &v;
      else if (k == "shape") shape = &v;
      else if (k == "data_offsets") offsets = &v;
      else throw Error(Errc::InvalidHeader, "\"" + name + "\": unexpected field \"" + k + "\"");
    }
    if (!dtype || !shape || !offsets)
      throw Error(Errc::InvalidHeader, "\"" + name + "\" needs dtype, shape and data_offsets");
    if (dtype->kind != Json::Kind::String) throw Error(Errc::InvalidHeader, "\"" + name + "\": dtype must be a string");
    if (shape->kind != Json::Kind::Array) throw Error(Errc::InvalidHeader, "\"" + name + "\": shape must be an array");
    if (offsets->kind != Json::Kind::Array || offsets->array.size() != 2)
      throw Error(Errc::InvalidHeader, "\"" + name + "\": data_offsets must be [begin, end]");
    TensorInfo t{name, Dtype::U8, {}, 0, 0};
    const auto d = parse_dtype(dtype->text);
    if (!d) throw Error(Errc::UnknownDtype, "\"" + name + "\": unknown dtype \"" + dtype->text + "\"");
    t.dtype = *d;
    for (const Json& dim : shape->array) t.shape.push_back(as_uint(dim, "\"" + name + "\": a dimension"));
    t.begin = as_uint(offsets->array[0], "\"" + name + "\": data_offsets[0]");
    t.end = as_uint(offsets->array[1], "\"" + name + "\": data_offsets[1]");
    return t;
  }

  void parse_header() {
    // TODO (see README.md): the 8-byte little-endian length and its checks,
    // the header text, parse_json, __metadata__, each tensor (tensor() reads
    // its fields), the shape x dtype byte count without overflow, the offset
    // range, the byte count, then the offsets in data order: no overlap, no
    // gap, nothing after the last tensor. Fill tensors_ (in data order),
    // index_, metadata_ and data_start_.
    (void)&SafetensorsFile::tensor;
  }

  MappedFile file_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::size_t data_start_ = 0;
};

}  // namespace st
