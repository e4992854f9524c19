// The NDJSON reader of `lodectl append`: lines of lodestone.v1.Event in protobuf's JSON mapping,
// cut into the batches the command sends. No I/O and no gRPC, so that tests/fuzz can drive it.
#ifndef LODESTONE_SERVICES_LODECTL_NDJSON_H_
#define LODESTONE_SERVICES_LODECTL_NDJSON_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lodestone/v1/events.pb.h"

namespace lodestone::lodectl {

struct EventLine {
  size_t number = 0;  // 1-based line number in the file
  v1::Event event;
};

// Consecutive lines sent as one Append. When any of them is malformed nothing of the batch is
// sent: `events` is then empty and `errors` has one "line N: <parser message>" per bad line.
struct LineBatch {
  std::vector<EventLine> events;
  size_t lines = 0;  // lines in the batch, malformed ones included
  std::vector<std::string> errors;
};

// Cuts lines into batches of at most `batch_events` lines (0 counts as 1), except that a
// retraction and the corrective events right after it stay in one batch. Unknown fields are
// parse errors. Memory: one batch of parsed lines.
class NdjsonBatcher {
 public:
  explicit NdjsonBatcher(size_t batch_events) : batch_events_(batch_events) {}

  // Reads the next line (without its newline); returns the batch before it when the line starts
  // a new one.
  std::optional<LineBatch> Add(std::string_view text);
  // The batch in progress (empty, with `lines` 0, when there is none).
  LineBatch Finish();

 private:
  const size_t batch_events_;
  size_t number_ = 0;
  LineBatch current_;
};

}  // namespace lodestone::lodectl

#endif  // LODESTONE_SERVICES_LODECTL_NDJSON_H_
