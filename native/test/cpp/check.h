// A minimal test harness: TEST registers a function, CHECK records failures with
// file:line, main() runs everything and prints one pass/fail count line.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace check {

struct Case {
  const char* name;
  void (*fn)();
};

inline std::vector<Case>& Registry() {
  static std::vector<Case> r;
  return r;
}

inline int& Failures() {
  static int f = 0;
  return f;
}

struct Registrar {
  Registrar(const char* name, void (*fn)()) { Registry().push_back({name, fn}); }
};

inline int RunAll(const char* suite) {
  int passed = 0, failed = 0;
  for (const Case& c : Registry()) {
    const int before = Failures();
    c.fn();
    if (Failures() == before) {
      ++passed;
    } else {
      ++failed;
      std::fprintf(stderr, "  FAIL %s\n", c.name);
    }
  }
  std::printf("%s: %d passed, %d failed (%zu tests)\n", suite, passed, failed, Registry().size());
  return failed == 0 ? 0 : 1;
}

}  // namespace check

#define TEST(name)                                                  \
  static void test_##name();                                        \
  static check::Registrar registrar_##name(#name, &test_##name);    \
  static void test_##name()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      ++check::Failures();                                                           \
      std::fprintf(stderr, "    %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                                \
  } while (0)

#define CHECK_EQ(a, b)                                                                                  \
  do {                                                                                                  \
    const auto va = (a);                                                                                \
    const auto vb = (b);                                                                                \
    if (!(va == vb)) {                                                                                  \
      ++check::Failures();                                                                              \
      std::fprintf(stderr, "    %s:%d: CHECK_EQ(%s, %s) failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b, \
                   static_cast<long long>(va), static_cast<long long>(vb));                             \
    }                                                                                                   \
  } while (0)
