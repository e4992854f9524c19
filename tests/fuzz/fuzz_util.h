// Helpers shared by the fuzz targets: a reader that splits one input into typed parts (what
// FuzzedDataProvider does, without depending on clang's header in the g++ build), and the check
// that turns a broken invariant into a crash libFuzzer reports.
#ifndef LODESTONE_TESTS_FUZZ_FUZZ_UTIL_H_
#define LODESTONE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

// Aborts with the failed condition: a fuzz target's invariant does not hold.
#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace lodestone::fuzz {

// Reads fixed-size integers and byte strings from the front of an input; past its end every
// read returns zeros or empty strings, so that any input is a valid one.
class InputReader {
 public:
  InputReader(const uint8_t* data, size_t size)
      : rest_(reinterpret_cast<const char*>(data), size) {}

  uint8_t Byte() {
    if (rest_.empty()) return 0;
    const auto value = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return value;
  }
  // Little endian.
  uint64_t U64() {
    uint64_t value = 0;
    for (int i = 0; i < 8; ++i) value |= static_cast<uint64_t>(Byte()) << (8 * i);
    return value;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() | (Byte() << 8)); }
  // Up to `n` bytes.
  std::string Bytes(size_t n) {
    const size_t take = n < rest_.size() ? n : rest_.size();
    std::string out(rest_.substr(0, take));
    rest_.remove_prefix(take);
    return out;
  }
  // A u8 length, then that many bytes.
  std::string ShortString() { return Bytes(Byte()); }
  std::string_view Rest() const { return rest_; }
  size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

}  // namespace lodestone::fuzz

#endif  // LODESTONE_TESTS_FUZZ_FUZZ_UTIL_H_
