// The NDJSON import of `lodectl append` (services/lodectl/ndjson.h). Input: the file's text;
// lines end at '\n' as std::getline cuts them; batches of kBatchEvents lines.
// Invariants: every line lands in exactly one batch, in order; a batch with a malformed line
// sends nothing; a batch is longer than kBatchEvents only by corrective events that follow
// their retraction; every parsed event prints to JSON and parses back to the same message;
// decoding and validating it (codec, domain) does not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "google/protobuf/util/json_util.h"
#include "services/codec/event_codec.h"
#include "services/domain/rules.h"
#include "services/lodectl/ndjson.h"
#include "tests/fuzz/event_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr size_t kBatchEvents = 4;

std::string Bytes(const google::protobuf::Message& message) {
  std::string out;
  FUZZ_CHECK(message.SerializePartialToString(&out));
  return out;
}

void CheckEvent(const lodestone::v1::Event& event) {
  std::string json;
  FUZZ_CHECK(google::protobuf::util::MessageToJsonString(event, &json).ok());
  lodestone::v1::Event again;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(json, &again).ok());
  FUZZ_CHECK(Bytes(again) == Bytes(event));
  auto decoded = lodestone::codec::EventFromProto(event);
  if (decoded.ok()) {
    lodestone::fuzz::CheckCanonicalRoundTrip(*decoded);
    (void)lodestone::domain::ValidateEvent(*decoded);
  }
}

bool Lists(const lodestone::v1::Event& retraction, const std::string& event_id) {
  if (!retraction.has_event_retracted()) return false;
  for (const auto& id : retraction.event_retracted().corrective_event_ids()) {
    if (id == event_id) return true;
  }
  return false;
}

struct Counter {
  size_t lines = 0;        // lines in the batches seen
  size_t last_number = 0;  // line number of the last event seen

  void Check(const lodestone::lodectl::LineBatch& batch) {
    const size_t first = lines + 1;
    lines += batch.lines;
    if (!batch.errors.empty()) {
      FUZZ_CHECK(batch.events.empty());
      FUZZ_CHECK(batch.errors.size() <= batch.lines);
    }
    FUZZ_CHECK(batch.events.size() <= batch.lines);
    for (size_t i = 0; i < batch.events.size(); ++i) {
      const auto& line = batch.events[i];
      FUZZ_CHECK(line.number > last_number && line.number >= first && line.number <= lines);
      last_number = line.number;
      if (i >= kBatchEvents) FUZZ_CHECK(Lists(batch.events[i - 1].event, line.event.event_id()));
      CheckEvent(line.event);
    }
    if (batch.lines > kBatchEvents) FUZZ_CHECK(batch.events.size() == batch.lines);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  lodestone::lodectl::NdjsonBatcher batcher(kBatchEvents);
  Counter counter;
  size_t lines = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    ++lines;
    if (auto batch = batcher.Add(text.substr(0, end))) counter.Check(*batch);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  counter.Check(batcher.Finish());
  FUZZ_CHECK(counter.lines == lines);
  return 0;
}
