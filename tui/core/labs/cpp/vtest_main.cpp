// vtest_main.cpp: runs the tests registered with VTEST (see vtest.hpp).
// Compiled once per compiler and sanitizer set, then cached by the Python side.
//
//   ./tests [NAME ...]     run the named tests (default: all), in file order
// Results go to the file named by $VTEST_RESULTS (stdout when unset), one JSON
// object per line, flushed at once: a run killed by a sanitizer still tells
// which test was running.
#include "vtest.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define VTEST_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VTEST_LSAN 1
#endif
#endif
#ifdef VTEST_LSAN
#include <sanitizer/lsan_interface.h>
#endif

namespace vtest {

struct Failure {  // thrown by a failed check; caught below
  std::string message;
  const char* file;
  int line;
};

Shown show_text(const char* data, std::size_t size) {
  Shown out{};
  std::size_t n = size < 90 ? size : 90;
  out.text[0] = '"';
  std::memcpy(out.text + 1, data, n);
  std::snprintf(out.text + 1 + n, sizeof out.text - 1 - n, "%s\"", size > n ? "..." : "");
  return out;
}
Shown show_signed(long long v) {
  Shown out{};
  std::snprintf(out.text, sizeof out.text, "%lld", v);
  return out;
}
Shown show_unsigned(unsigned long long v) {
  Shown out{};
  std::snprintf(out.text, sizeof out.text, "%llu", v);
  return out;
}
Shown show_double(double v) {
  Shown out{};
  std::snprintf(out.text, sizeof out.text, "%.9g", v);
  return out;
}
Shown show_pointer(const void* p) {
  Shown out{};
  if (p) std::snprintf(out.text, sizeof out.text, "%p", p);
  else std::snprintf(out.text, sizeof out.text, "nullptr");
  return out;
}
Shown show_other() {
  Shown out{};
  std::snprintf(out.text, sizeof out.text, "(a value)");
  return out;
}

void fail(const char* message, const char* file, int line) {
  throw Failure{message ? message : "", file, line};
}
void fail_eq(const char* expr, const Shown& got, const Shown& expected, const char* file, int line) {
  throw Failure{std::string(expr) + ": got " + got.text + ", expected " + expected.text, file, line};
}
void fail_throws(const char* expr, const char* exception, const char* file, int line) {
  throw Failure{std::string("expected ") + expr + " to throw " + exception + "; it did not", file, line};
}

namespace {

struct Entry {
  const char* name;
  TestFn fn;
  const char* file;
  int line;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> tests;
  return tests;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

FILE* results = stdout;

void emit(const std::string& line) {
  std::fputs(line.c_str(), results);
  std::fputc('\n', results);
  std::fflush(results);
}

void end(const Entry& t, const char* outcome, const std::string& message, const char* file, int line) {
  emit("{\"event\":\"end\",\"name\":" + json_string(t.name) + ",\"outcome\":\"" + outcome +
       "\",\"message\":" + json_string(message) + ",\"file\":" + json_string(file ? file : "") +
       ",\"line\":" + std::to_string(line) + "}");
}

}  // namespace

void register_test(const char* name, TestFn fn, const char* file, int line) {
  registry().push_back(Entry{name, fn, file, line});
}

}  // namespace vtest

int main(int argc, char** argv) {
  using namespace vtest;
  if (const char* path = std::getenv("VTEST_RESULTS")) {
    results = std::fopen(path, "a");
    if (!results) {
      std::perror(path);
      return 2;
    }
  }
  if (argc > 1 && std::strcmp(argv[1], "--list") == 0) {
    for (const Entry& t : registry()) emit(json_string(t.name));
    return 0;
  }
  std::vector<bool> wanted(registry().size(), argc <= 1);
  for (int i = 1; i < argc; ++i)
    for (std::size_t k = 0; k < registry().size(); ++k)
      if (std::strcmp(argv[i], registry()[k].name) == 0) wanted[k] = true;
  int failed = 0;
  for (std::size_t k = 0; k < registry().size(); ++k) {
    if (!wanted[k]) continue;
    const Entry& t = registry()[k];
    emit("{\"event\":\"start\",\"name\":" + json_string(t.name) + "}");
    std::fprintf(stderr, "[vtest] start %s\n", t.name);  // cuts stderr per test for the Python side
    std::fflush(stderr);
    const char* outcome = "passed";
    std::string message;
    const char* file = t.file;
    int line = t.line;
    try {
      t.fn();
    } catch (const Failure& f) {
      outcome = "failed", message = f.message, file = f.file, line = f.line;
    } catch (const std::exception& e) {
      outcome = "failed", message = std::string("uncaught exception: ") + e.what();
    } catch (...) {
      outcome = "failed", message = "uncaught exception of a type not derived from std::exception";
    }
    bool leaked = false;
#ifdef VTEST_LSAN
    // Memory this test allocated and lost is its failure, not the process's at exit.
    leaked = __lsan_do_recoverable_leak_check() != 0;
    if (leaked && std::strcmp(outcome, "passed") == 0) {
      outcome = "failed", message = "LeakSanitizer: memory leaked during this test (report in stderr)";
    }
#endif
    end(t, outcome, message, file, line);
    if (std::strcmp(outcome, "passed") != 0) ++failed;
    if (leaked) {
      // LeakSanitizer would report these blocks again after every later test:
      // stop here; the runner starts a fresh process at the next test.
      std::fflush(nullptr);
      std::_Exit(3);
    }
  }
  return failed ? 1 : 0;
}
