#include "services/lodectl/ndjson.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace lodestone::lodectl {
namespace {

// Whether `event` is one of the corrective events of the retraction ending `batch`.
bool ContinuesRetraction(const LineBatch& batch, const v1::Event& event) {
  if (batch.events.empty() || !batch.errors.empty()) return false;
  const v1::Event& last = batch.events.back().event;
  if (!last.has_event_retracted()) return false;
  const auto& ids = last.event_retracted().corrective_event_ids();
  return std::find(ids.begin(), ids.end(), event.event_id()) != ids.end();
}

}  // namespace

std::optional<LineBatch> NdjsonBatcher::Add(std::string_view text) {
  ++number_;
  google::protobuf::util::JsonParseOptions parse_options;
  parse_options.ignore_unknown_fields = false;
  v1::Event event;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(text.data(), text.size()), &event, parse_options);
  std::optional<LineBatch> done;
  if (current_.lines >= std::max<size_t>(batch_events_, 1) &&
      !(status.ok() && ContinuesRetraction(current_, event))) {
    done = Finish();
  }
  ++current_.lines;
  if (!status.ok()) {
    current_.errors.push_back(absl::StrCat("line ", number_, ": ", status.message().as_string()));
    current_.events.clear();
  } else if (current_.errors.empty()) {
    current_.events.push_back({number_, std::move(event)});
  }
  return done;
}

LineBatch NdjsonBatcher::Finish() { return std::exchange(current_, LineBatch{}); }

}  // namespace lodestone::lodectl
