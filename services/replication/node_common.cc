#include "services/replication/node_common.h"

#include <charconv>
#include <cstdio>
#include <iostream>

namespace lodestone::replication {

std::string NodeKeys::Batch(int64_t sequence) const {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%020lld", static_cast<long long>(sequence));
  return Key("batches/") + digits;
}

bool ParseSequence(std::string_view text, int64_t& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

bool Retryable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

void LogNode(const std::string& node_id, const std::string& message) {
  std::cerr << "lodestone-replication: node " << node_id << ": " << message << std::endl;
}

}  // namespace lodestone::replication
