// vtest.hpp: vlearn's small C++ test harness (project code, no third-party parts).
//
// A lab's test file defines tests with VTEST(name) { ... } and checks with
// VCHECK(cond), VCHECK_EQ(a, b), VCHECK_THROWS(expr, Type). The runner
// (vtest_main.cpp, compiled once and cached) runs them in order and writes one
// JSON line per event to the file named by $VTEST_RESULTS:
//   {"event":"start","name":...}
//   {"event":"end","name":...,"outcome":"passed"|"failed","message":...,"file":...,"line":N}
// A test stops at its first failed check. A sanitizer report or a crash ends
// the process; the Python side (tui/core/labs/cpp.py) sees a "start" without an
// "end", blames that test and starts the binary again at the next one.
#pragma once

#include <cstddef>
#include <type_traits>

// Everything that builds text lives out of line in vtest_main.cpp (compiled
// once and cached): a check costs the test file a compare and a call, not a
// std::string instantiation, which keeps the per-save compile short.
namespace vtest {

struct Shown {  // a value as text, cut at 95 characters
  char text[96];
};
Shown show_signed(long long v);
Shown show_unsigned(unsigned long long v);
Shown show_double(double v);
Shown show_text(const char* data, std::size_t size);
Shown show_pointer(const void* p);
Shown show_other();

template <class T>
Shown show(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return show_text(v ? "true" : "false", v ? 4 : 5);
  } else if constexpr (std::is_enum_v<T>) {
    return show_signed(static_cast<long long>(v));
  } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    return show_signed(static_cast<long long>(v));
  } else if constexpr (std::is_integral_v<T>) {
    return show_unsigned(static_cast<unsigned long long>(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    return show_double(static_cast<double>(v));
  } else if constexpr (std::is_pointer_v<T> || std::is_null_pointer_v<T>) {
    return show_pointer(static_cast<const void*>(v));
  } else if constexpr (requires { v.data(); v.size(); static_cast<const char*>(v.data()); }) {
    return show_text(v.data(), v.size());  // std::string, std::string_view
  } else {
    return show_other();
  }
}

using TestFn = void (*)();
void register_test(const char* name, TestFn fn, const char* file, int line);
[[noreturn]] void fail(const char* message, const char* file, int line);
[[noreturn]] void fail_eq(const char* expr, const Shown& got, const Shown& expected, const char* file, int line);
[[noreturn]] void fail_throws(const char* expr, const char* exception, const char* file, int line);

struct Registrar {
  Registrar(const char* name, TestFn fn, const char* file, int line) { register_test(name, fn, file, line); }
};

}  // namespace vtest

#define VTEST_CAT2(a, b) a##b
#define VTEST_CAT(a, b) VTEST_CAT2(a, b)

// VTEST(name) { body }: name must be a valid identifier, unique in the file.
#define VTEST(name)                                                                        \
  static void vtest_fn_##name();                                                           \
  static const ::vtest::Registrar VTEST_CAT(vtest_reg_, name){#name, &vtest_fn_##name,     \
                                                              __FILE__, __LINE__};          \
  static void vtest_fn_##name()

// msg: a string literal or any const char*.
#define VCHECK_MSG(cond, msg)                                                              \
  do {                                                                                     \
    if (!(cond)) ::vtest::fail(msg, __FILE__, __LINE__);                                   \
  } while (0)

#define VCHECK(cond) VCHECK_MSG(cond, "check failed: " #cond)

#define VCHECK_EQ(actual, expected)                                                        \
  do {                                                                                     \
    const auto& vtest_a_ = (actual);                                                       \
    const auto& vtest_e_ = (expected);                                                     \
    if (!(vtest_a_ == vtest_e_))                                                           \
      ::vtest::fail_eq(#actual " == " #expected, ::vtest::show(vtest_a_), ::vtest::show(vtest_e_), \
                       __FILE__, __LINE__);                                                \
  } while (0)

#define VCHECK_THROWS(expr, Exception)                                                     \
  do {                                                                                     \
    bool vtest_threw_ = false;                                                             \
    try {                                                                                  \
      (void)(expr);                                                                        \
    } catch (const Exception&) {                                                           \
      vtest_threw_ = true;                                                                 \
    }                                                                                      \
    if (!vtest_threw_)                                                                     \
      ::vtest::fail_throws(#expr, #Exception, __FILE__, __LINE__);                         \
  } while (0)

// Fail the test with a message.
#define VFAIL(msg) ::vtest::fail(msg, __FILE__, __LINE__)
