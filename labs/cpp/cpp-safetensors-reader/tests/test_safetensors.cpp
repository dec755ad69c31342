// Tests for safetensors.hpp, under AddressSanitizer + UBSan. Every test
// writes its files into a fresh temporary directory.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "safetensors.hpp"
#include "vtest.hpp"

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vtest-st-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) VFAIL("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

static std::string le64(std::uint64_t n) {
  std::string s(8, '\0');
  for (int k = 0; k < 8; ++k) s[static_cast<std::size_t>(k)] = static_cast<char>((n >> (8 * k)) & 0xff);
  return s;
}

static void write_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// 8-byte length + header (space-padded to a multiple of 8 unless pad is false) + data.
static std::string write_st(const std::string& path, std::string header, const std::string& data, bool pad = true) {
  if (pad)
    while (header.size() % 8 != 0) header += ' ';
  write_raw(path, le64(header.size()) + header + data);
  return path;
}

template <class T>
static std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// Opening `path` must fail with `code`.
static bool fails_with(const std::string& path, st::Errc code) {
  try {
    st::SafetensorsFile::open(path);
  } catch (const st::Error& e) {
    return e.code() == code;
  }
  return false;
}

static std::string tensor_entry(const std::string& name, const std::string& dtype, const std::string& shape,
                                std::uint64_t begin, std::uint64_t end) {
  return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(begin) + "," + std::to_string(end) + "]}";
}

VTEST(reads_tensors_metadata_and_values) {
  TempDir dir;
  std::vector<float> a{0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f};
  std::vector<std::int64_t> b{-7, 1LL << 40};
  const std::string header = "{\"__metadata__\":{\"format\":\"pt\"}," + tensor_entry("a", "F32", "[2,3]", 0, 24) + "," +
                             tensor_entry("b", "I64", "[2]", 24, 40) + "}";
  auto path = write_st(dir.file("m.safetensors"), header, bytes_of(a) + bytes_of(b));
  auto f = st::SafetensorsFile::open(path);
  VCHECK_EQ(f.tensors().size(), 2u);
  VCHECK_EQ(f.tensors()[0].name, std::string("a"));
  VCHECK(f.tensors()[0].shape == (std::vector<std::uint64_t>{2, 3}));
  VCHECK(f.tensors()[1].dtype == st::Dtype::I64);
  VCHECK_EQ(f.metadata().at("format"), std::string("pt"));
  VCHECK_EQ(f.data_start() % 8, 0u);
  auto va = f.values<float>("a");
  VCHECK_EQ(va.size(), 6u);
  VCHECK_EQ(va[5], 5.5f);
  auto vb = f.values<std::int64_t>("b");
  VCHECK_EQ(vb[1], std::int64_t{1} << 40);
  auto v = f.view("b");
  VCHECK_EQ(v.bytes.size(), 16u);
  VCHECK_EQ(v.numel(), 2u);
  VCHECK(f.contains("a") && !f.contains("c"));
}

VTEST(header_order_is_not_data_order) {
  TempDir dir;
  std::vector<std::int32_t> x{1, 2, 3, 4}, y{5, 6};
  const std::string header = "{" + tensor_entry("late", "I32", "[2]", 16, 24) + ",\"__metadata__\":{}," +
                             tensor_entry("early", "I32", "[4]", 0, 16) + "}";
  auto f = st::SafetensorsFile::open(write_st(dir.file("o.safetensors"), header, bytes_of(x) + bytes_of(y)));
  VCHECK_EQ(f.tensors()[0].name, std::string("early"));
  VCHECK_EQ(f.values<std::int32_t>("late")[1], 6);
  VCHECK_EQ(f.values<std::int32_t>("early")[3], 4);
}

VTEST(json_details_scalars_empty_tensors_and_escapes) {
  TempDir dir;
  std::vector<double> s{3.25};
  // whitespace and newlines, escapes (\" and \u00e9 and a surrogate pair), a scalar, a zero-size tensor
  const std::string header =
      "{\n  \"la\\\"yer\\u00e9\" : {\"dtype\": \"F64\", \"shape\": [], \"data_offsets\": [0, 8]},\n"
      "  \"emoji\\ud83d\\ude00\": {\"dtype\": \"BF16\", \"shape\": [0, 4], \"data_offsets\": [8, 8]},\n"
      "  \"__metadata__\": {\"k\\n\": \"v\\/\\t\"}\n}";
  auto f = st::SafetensorsFile::open(write_st(dir.file("j.safetensors"), header, bytes_of(s)));
  VCHECK(f.contains("la\"yer\xC3\xA9"));
  VCHECK(f.contains("emoji\xF0\x9F\x98\x80"));
  VCHECK_EQ(f.values<double>("la\"yer\xC3\xA9")[0], 3.25);
  VCHECK_EQ(f.view("la\"yer\xC3\xA9").numel(), 1u);
  VCHECK_EQ(f.view("emoji\xF0\x9F\x98\x80").bytes.size(), 0u);
  VCHECK_EQ(f.metadata().at("k\n"), std::string("v/\t"));
}

VTEST(empty_header_and_no_tensors) {
  TempDir dir;
  auto f = st::SafetensorsFile::open(write_st(dir.file("e.safetensors"), "{}", ""));
  VCHECK_EQ(f.tensors().size(), 0u);
  VCHECK_THROWS(f.view("x"), st::Error);
}

VTEST(truncated_header_length) {
  TempDir dir;
  write_raw(dir.file("empty"), "");
  VCHECK(fails_with(dir.file("empty"), st::Errc::HeaderTooSmall));
  write_raw(dir.file("five"), std::string("\x02\0\0\0\0", 5));
  VCHECK(fails_with(dir.file("five"), st::Errc::HeaderTooSmall));
}

VTEST(header_length_past_end_of_file) {
  TempDir dir;
  write_raw(dir.file("a"), le64(5000) + "{}" + std::string(90, ' '));  // 100 bytes claiming a 5000-byte header
  VCHECK(fails_with(dir.file("a"), st::Errc::HeaderLengthPastEof));
  write_raw(dir.file("b"), le64(UINT64_MAX - 3) + "{}      ");  // 8 + N wraps around in 64 bits
  VCHECK(fails_with(dir.file("b"), st::Errc::HeaderLengthPastEof));
  write_raw(dir.file("c"), le64(9) + "{}      ");  // one byte short
  VCHECK(fails_with(dir.file("c"), st::Errc::HeaderLengthPastEof));
}

VTEST(header_larger_than_the_cap) {
  TempDir dir;  // a sparse file: 100 MB of holes cost no disk
  const std::string path = dir.file("huge");
  write_raw(path, le64(st::kMaxHeaderSize + 1) + "{");
  VCHECK(::truncate(path.c_str(), static_cast<off_t>(st::kMaxHeaderSize + 16)) == 0);
  VCHECK(fails_with(path, st::Errc::HeaderTooLarge));
}

VTEST(malformed_json_is_rejected) {
  TempDir dir;
  const std::string ok = tensor_entry("t", "U8", "[1]", 0, 1);
  const std::vector<std::string> bad = {
      "",                                      // empty header
      "[]",                                    // not an object
      "{",                                     // unterminated
      "{\"t\":}",                              // missing value
      "{" + ok + ",}",                         // trailing comma
      "{" + ok + "} x",                        // text after the object
      "{\"t\":{\"dtype\":\"U8,\"shape\":[1],\"data_offsets\":[0,1]}}",  // string runs on
      "{\"a\\q\":1}",                          // bad escape
      "{\"a\tb\":1}",                          // raw control character
      "{\"\\ud83d\":1}",                       // lone surrogate
      "{\"t\":1}",                             // entry not an object
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1]}}",                      // no data_offsets
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,1]}}",  // negative dimension
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1.0],\"data_offsets\":[0,1]}}",  // not an integer
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1,2]}}",  // three offsets
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\"0\",\"1\"]}}",  // strings
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,18446744073709551617]}}",  // > 2^64 - 1
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[01],\"data_offsets\":[0,1]}}",  // leading zero
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"extra\":tru}}",  // bad literal
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}",  // duplicate
      "{\"__metadata__\":{\"k\":1}," + ok + "}",  // metadata value not a string
      "{\"__metadata__\":[]," + ok + "}",         // metadata not an object
  };
  for (std::size_t k = 0; k < bad.size(); ++k) {
    const std::string path = write_st(dir.file("bad" + std::to_string(k)), bad[k], "x");
    if (!fails_with(path, st::Errc::InvalidHeader)) {
      static std::string message;
      message = "not rejected as InvalidHeader: " + bad[k];
      VFAIL(message.c_str());
    }
  }
}

VTEST(deep_nesting_is_an_error_not_a_stack_overflow) {
  TempDir dir;
  const std::size_t depth = 1'000'000;
  const std::string header = "{\"x\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  VCHECK(fails_with(write_st(dir.file("deep"), header, ""), st::Errc::InvalidHeader));
}

VTEST(unknown_dtype) {
  TempDir dir;
  for (const char* d : {"f32", "Q4_0", "F4", "FLOAT"}) {
    auto path = write_st(dir.file(std::string("u") + d), "{" + tensor_entry("t", d, "[4]", 0, 4) + "}", "abcd");
    VCHECK_MSG(fails_with(path, st::Errc::UnknownDtype), d);
  }
}

VTEST(shape_times_dtype_must_equal_the_byte_range) {
  TempDir dir;
  auto a = write_st(dir.file("a"), "{" + tensor_entry("t", "F32", "[2,2]", 0, 12) + "}", std::string(12, '\0'));
  VCHECK(fails_with(a, st::Errc::SizeMismatch));
  auto b = write_st(dir.file("b"), "{" + tensor_entry("t", "F16", "[3]", 0, 4) + "}", std::string(4, '\0'));
  VCHECK(fails_with(b, st::Errc::SizeMismatch));
}

VTEST(shape_overflow_is_caught_before_it_wraps) {
  TempDir dir;
  // 2^32 x 2^32 elements wrap to 0 in 64 bits; so does 2^61 x 8 bytes.
  auto a = write_st(dir.file("a"), "{" + tensor_entry("t", "U8", "[4294967296,4294967296]", 0, 0) + "}", "");
  VCHECK(fails_with(a, st::Errc::ShapeOverflow));
  auto b = write_st(dir.file("b"), "{" + tensor_entry("t", "F64", "[2305843009213693952]", 0, 0) + "}", "");
  VCHECK(fails_with(b, st::Errc::ShapeOverflow));
  auto c = write_st(dir.file("c"), "{" + tensor_entry("t", "F32", "[0,4294967296,4294967296]", 0, 0) + "}", "");
  auto f = st::SafetensorsFile::open(c);  // a zero dimension: 0 elements, no overflow
  VCHECK_EQ(f.view("t").numel(), 0u);
}

VTEST(offsets_out_of_range) {
  TempDir dir;
  // begin > end
  auto a = write_st(dir.file("a"), "{" + tensor_entry("t", "U8", "[4]", 8, 4) + "}", std::string(8, '\0'));
  VCHECK(fails_with(a, st::Errc::InvalidOffsets));
  // a truncated download: the header promises 16 data bytes, 8 arrived
  auto b = write_st(dir.file("b"), "{" + tensor_entry("t", "F32", "[4]", 0, 16) + "}", std::string(8, '\0'));
  VCHECK(fails_with(b, st::Errc::InvalidOffsets));
  auto c = write_st(dir.file("c"),
                    "{" + tensor_entry("t", "U8", "[8]", 0, 8) + "," + tensor_entry("u", "U8", "[8]", 8, 16) + "}",
                    std::string(12, '\0'));
  VCHECK(fails_with(c, st::Errc::InvalidOffsets));
}

VTEST(overlapping_tensors) {
  TempDir dir;
  auto a = write_st(dir.file("a"),
                    "{" + tensor_entry("t", "F32", "[4]", 0, 16) + "," + tensor_entry("u", "F32", "[4]", 8, 24) + "}",
                    std::string(24, '\0'));
  VCHECK(fails_with(a, st::Errc::OffsetsOverlap));
  auto b = write_st(dir.file("b"),
                    "{" + tensor_entry("t", "F32", "[4]", 0, 16) + "," + tensor_entry("alias", "F32", "[4]", 0, 16) + "}",
                    std::string(16, '\0'));
  VCHECK(fails_with(b, st::Errc::OffsetsOverlap));
}

VTEST(bytes_owned_by_no_tensor) {
  TempDir dir;
  auto gap = write_st(dir.file("gap"),
                      "{" + tensor_entry("t", "U8", "[8]", 0, 8) + "," + tensor_entry("u", "U8", "[8]", 16, 24) + "}",
                      std::string(24, '\0'));
  VCHECK(fails_with(gap, st::Errc::IncompleteBuffer));
  auto trailing = write_st(dir.file("tail"), "{" + tensor_entry("t", "U8", "[8]", 0, 8) + "}", std::string(12, '\0'));
  VCHECK(fails_with(trailing, st::Errc::IncompleteBuffer));
  auto lead = write_st(dir.file("lead"), "{" + tensor_entry("t", "U8", "[8]", 4, 12) + "}", std::string(12, '\0'));
  VCHECK(fails_with(lead, st::Errc::IncompleteBuffer));
}

VTEST(typed_views_check_name_type_and_alignment) {
  TempDir dir;
  std::vector<float> a{1.0f, 2.0f};
  const std::string header = "{" + tensor_entry("a", "F32", "[2]", 0, 8) + "}";
  auto path = write_st(dir.file("t"), header, bytes_of(a));
  auto f = st::SafetensorsFile::open(path);
  VCHECK_THROWS(f.values<std::int32_t>("a"), st::Error);
  try {
    f.values<double>("a");
    VFAIL("values<double> of an F32 tensor must throw");
  } catch (const st::Error& e) {
    VCHECK(e.code() == st::Errc::WrongDtype);
  }
  try {
    f.view("b");
    VFAIL("view of a missing tensor must throw");
  } catch (const st::Error& e) {
    VCHECK(e.code() == st::Errc::NotFound);
  }
  // An unpadded header of odd length: the data starts at an odd address.
  auto odd = write_st(dir.file("odd"), header + " ", bytes_of(a), false);
  auto g = st::SafetensorsFile::open(odd);
  VCHECK_EQ(g.data_start() % 2, 1u);
  try {
    g.values<float>("a");
    VFAIL("values<float> on misaligned data must throw");
  } catch (const st::Error& e) {
    VCHECK(e.code() == st::Errc::Misaligned);
  }
  float second = 0;
  std::memcpy(&second, g.view("a").bytes.data() + 4, sizeof second);  // the portable way
  VCHECK_EQ(second, 2.0f);
}

VTEST(io_errors) {
  TempDir dir;
  VCHECK(fails_with(dir.file("missing.safetensors"), st::Errc::Io));
  VCHECK(fails_with(dir.path.string(), st::Errc::Io));  // a directory
}

#ifdef __linux__
static int count_fds() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d) != nullptr) ++n;
    ::closedir(d);
  }
  return n;
}

static int count_mappings(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  int n = 0;
  while (std::getline(maps, line))
    if (line.find(path) != std::string::npos) ++n;
  return n;
}
#endif

VTEST(mapping_and_descriptor_are_released) {
#ifdef __linux__
  TempDir dir;
  std::vector<float> a{1.0f, 2.0f};
  auto path = write_st(dir.file("r.safetensors"), "{" + tensor_entry("a", "F32", "[2]", 0, 8) + "}", bytes_of(a));
  const int fds = count_fds();
  {
    auto f = st::SafetensorsFile::open(path);
    VCHECK_MSG(count_mappings(path) == 1, "the file should be mapped once while open");
    VCHECK_EQ(f.values<float>("a")[1], 2.0f);
  }
  VCHECK_MSG(count_mappings(path) == 0, "the mapping outlived the reader (munmap missing)");
  VCHECK_MSG(count_fds() == fds, "a file descriptor leaked");
  for (int k = 0; k < 3; ++k) VCHECK(fails_with(dir.file("missing"), st::Errc::Io));
  write_raw(dir.file("bad"), le64(3) + "[1]");
  VCHECK(fails_with(dir.file("bad"), st::Errc::InvalidHeader));
  VCHECK_MSG(count_mappings(dir.file("bad")) == 0, "a file that failed validation stayed mapped");
  VCHECK_MSG(count_fds() == fds, "a failed open leaked a file descriptor");
#endif
}

VTEST(moves_transfer_the_mapping) {
  TempDir dir;
  std::vector<float> a{1.0f, 2.0f}, b{3.0f, 4.0f};
  auto pa = write_st(dir.file("a.safetensors"), "{" + tensor_entry("a", "F32", "[2]", 0, 8) + "}", bytes_of(a));
  auto pb = write_st(dir.file("b.safetensors"), "{" + tensor_entry("b", "F32", "[2]", 0, 8) + "}", bytes_of(b));
  auto outer = st::SafetensorsFile::open(pa);
  {
    auto inner = st::SafetensorsFile::open(pa);
    outer = std::move(inner);  // the old mapping of `outer` must be released, inner's must survive inner
  }
  VCHECK_EQ(outer.values<float>("a")[1], 2.0f);
  auto moved = std::move(outer);
  VCHECK_EQ(moved.values<float>("a")[0], 1.0f);
  {
    auto other = st::SafetensorsFile::open(pb);
    moved = std::move(other);
  }
  VCHECK_EQ(moved.values<float>("b")[1], 4.0f);
#ifdef __linux__
  VCHECK_MSG(count_mappings(pa) == 0, "move assignment leaked the mapping it replaced");
  VCHECK_EQ(count_mappings(pb), 1);
#endif
  st::MappedFile m(pb);
  st::MappedFile n(std::move(m));
  VCHECK_EQ(m.bytes().size(), 0u);
  VCHECK_EQ(n.bytes().size(), static_cast<std::size_t>(fs::file_size(pb)));
}
