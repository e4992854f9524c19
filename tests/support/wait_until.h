// Bounded polling for tests that watch another process or thread reach a state.
#ifndef LODESTONE_TESTS_SUPPORT_WAIT_UNTIL_H_
#define LODESTONE_TESTS_SUPPORT_WAIT_UNTIL_H_

#include <chrono>
#include <functional>
#include <thread>

namespace lodestone::testing {

// True as soon as `done` holds, false after `timeout`.
inline bool WaitUntil(const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_WAIT_UNTIL_H_
