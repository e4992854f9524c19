// Conversion between the wire events (lodestone.v1 protobuf) and the domain's plain C++ events.
// The only place that knows both.
#ifndef LODESTONE_SERVICES_CODEC_EVENT_CODEC_H_
#define LODESTONE_SERVICES_CODEC_EVENT_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "lodestone/v1/events.pb.h"
#include "services/domain/event.h"

namespace lodestone::codec {

// INVALID_ARGUMENT for timestamps outside the protobuf Timestamp range. Enum values are copied
// as numbers; the domain's validation rejects UNSPECIFIED and unknown values.
absl::StatusOr<domain::Event> EventFromProto(const v1::Event& proto);
void EventToProto(const domain::Event& event, v1::Event* proto);

// The canonical bytes of an event: EventToProto then deterministic serialization. Unknown fields
// of the incoming message are dropped by the round trip through the domain event.
std::string CanonicalEventBytes(const domain::Event& event);
// The deterministic serialization of a wire event as it is (what the log stores as payload for
// an event it read back: a peer's records are checked against their leaf hashes with it).
std::string DeterministicEventBytes(const v1::Event& proto);

// What an event's Ed25519 signature signs (docs/security.md): kSignatureContext followed by the
// canonical bytes of the event without its `signature` field. The context keeps a signature of
// an event from being valid for any other message signed with the same key.
inline constexpr std::string_view kSignatureContext = "lodestone/v1/event\n";
std::string SignedMessage(const domain::Event& event);
std::string SignedMessage(const v1::Event& proto);
// The signed message of an event read from its exact stored bytes (a Merkle leaf's payload),
// for verifiers that trust bytes, not a re-serialization: kSignatureContext followed by the bytes
// before the trailing `signature` field (all of them for an unsigned event). Fills `event` with
// the parsed event. DATA_LOSS if the bytes do not parse or the signature is not their last field.
absl::StatusOr<std::string> SignedMessageOfStoredBytes(std::string_view stored, v1::Event* event);

// Exact both ways for every valid Timestamp (0001-01-01 .. 9999-12-31T23:59:59.999999999Z);
// INVALID_ARGUMENT for one outside that range or with nanos outside 0..999999999.
absl::StatusOr<absl::Time> TimeFromProto(const google::protobuf::Timestamp& ts);
void TimeToProto(absl::Time time, google::protobuf::Timestamp* ts);

// Microseconds since the Unix epoch (what views store), rounded down or up; and back, exactly.
int64_t MicrosFloor(const google::protobuf::Timestamp& ts);
int64_t MicrosCeil(const google::protobuf::Timestamp& ts);
void MicrosToProto(int64_t micros, google::protobuf::Timestamp* ts);

}  // namespace lodestone::codec

#endif  // LODESTONE_SERVICES_CODEC_EVENT_CODEC_H_
