// Event decoding and the write model's validation. Input: the bytes of a lodestone.v1.
// AppendRequest (what a client sends). Each event is decoded (codec::EventFromProto) and, in
// batch order, validated and applied to one in-memory write model (domain::ApplyAndRecord, the
// rules the ledger applies to every event it commits).
// Invariants: decode(canonical bytes(e)) == e and the canonical bytes are a fixed point; the
// signed message read from the stored bytes is the one computed from the event; ApplyEvent
// refuses what ValidateEvent refuses; a refused event leaves the write model unchanged.
#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"
#include "lodestone/v1/events.pb.h"
#include "lodestone/v1/ledger.pb.h"
#include "services/codec/event_codec.h"
#include "services/domain/in_memory_state_store.h"
#include "services/domain/rules.h"
#include "tests/fuzz/event_checks.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using lodestone::codec::EventFromProto;

// Bounds the work per input: more events than this are not applied.
constexpr int kMaxEvents = 64;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lodestone::v1::AppendRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  lodestone::domain::InMemoryStateStore store;
  const lodestone::domain::Authority authority{.admin_party = "lodestone-admin"};
  const absl::Time commit_time = absl::FromUnixSeconds(1767225600);  // 2026-01-01
  for (int i = 0; i < request.events_size() && i < kMaxEvents; ++i) {
    auto event = EventFromProto(request.events(i));
    if (!event.ok()) continue;
    lodestone::fuzz::CheckCanonicalRoundTrip(*event);
    const bool valid = lodestone::domain::ValidateEvent(*event).ok();
    (void)lodestone::domain::CheckEventTimes(*event, commit_time,
                                             lodestone::domain::kDefaultMaxFutureSkew);
    const lodestone::domain::InMemoryStateStore before = store;
    const absl::Status applied = lodestone::domain::ApplyAndRecord(*event, store, authority);
    if (!valid) FUZZ_CHECK(!applied.ok());
    if (!applied.ok()) FUZZ_CHECK(store == before);
  }
  return 0;
}
