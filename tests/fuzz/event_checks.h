// The codec invariant of a decoded domain event, shared by the event, NDJSON and EPCIS targets.
#ifndef LODESTONE_TESTS_FUZZ_EVENT_CHECKS_H_
#define LODESTONE_TESTS_FUZZ_EVENT_CHECKS_H_

#include <string>

#include "lodestone/v1/events.pb.h"
#include "services/codec/event_codec.h"
#include "services/domain/event.h"
#include "tests/fuzz/fuzz_util.h"

namespace lodestone::fuzz {

// decode(canonical bytes(e)) == e, the canonical bytes are a fixed point, and the signed message
// read from the stored bytes is the one computed from the event.
inline void CheckCanonicalRoundTrip(const domain::Event& event) {
  const std::string bytes = codec::CanonicalEventBytes(event);
  v1::Event proto;
  FUZZ_CHECK(proto.ParseFromString(bytes));
  auto again = codec::EventFromProto(proto);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == event);
  FUZZ_CHECK(codec::CanonicalEventBytes(*again) == bytes);
  FUZZ_CHECK(codec::DeterministicEventBytes(proto) == bytes);
  v1::Event stored;
  auto signed_message = codec::SignedMessageOfStoredBytes(bytes, &stored);
  FUZZ_CHECK(signed_message.ok());
  FUZZ_CHECK(*signed_message == codec::SignedMessage(event));
}

}  // namespace lodestone::fuzz

#endif  // LODESTONE_TESTS_FUZZ_EVENT_CHECKS_H_
