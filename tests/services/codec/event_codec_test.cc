// The wire <-> domain time conversions: exact over the whole Timestamp range, never clamped;
// the EPCIS fields of an event.
#include "services/codec/event_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace lodestone::codec {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

TEST(EventCodecTimeTest, TimestampsRoundTripExactlyAcrossTheWholeRange) {
  // Year 1 and year 9999 used to come back as 1677-09-21 and 2262-04-11 (int64 nanoseconds).
  const std::vector<std::pair<int64_t, int32_t>> cases = {
      {-62135596800, 0},       {-62135596800, 1}, {-2208988800, 999999999}, {-1, 999999999}, {0, 0},
      {1767225600, 123456789}, {32503680000, 5},  {253402300799, 999999999}};
  for (const auto& [seconds, nanos] : cases) {
    auto time = TimeFromProto(Ts(seconds, nanos));
    ASSERT_TRUE(time.ok()) << seconds << " " << time.status();
    google::protobuf::Timestamp back;
    TimeToProto(*time, &back);
    EXPECT_EQ(back.seconds(), seconds);
    EXPECT_EQ(back.nanos(), nanos);
  }
}

TEST(EventCodecTimeTest, TimestampsOutsideTheRangeAreInvalidArgument) {
  EXPECT_EQ(TimeFromProto(Ts(-62135596801, 0)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeFromProto(Ts(253402300800, 0)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeFromProto(Ts(0, -1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TimeFromProto(Ts(0, 1000000000)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EventCodecTimeTest, MicrosRoundInTheDirectionAskedAndComeBackExactly) {
  EXPECT_EQ(MicrosFloor(Ts(-1, 999999999)), -1);  // -0.000000001 s
  EXPECT_EQ(MicrosCeil(Ts(-1, 999999999)), 0);
  EXPECT_EQ(MicrosFloor(Ts(1, 1500)), 1000001);
  EXPECT_EQ(MicrosCeil(Ts(1, 1500)), 1000002);
  EXPECT_EQ(MicrosCeil(Ts(1, 2000)), 1000002);
  google::protobuf::Timestamp ts;
  MicrosToProto(-1, &ts);  // before 1970 the seconds round down, the nanos stay positive
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 999999000);
  MicrosToProto(-62135596800000000, &ts);
  EXPECT_EQ(ts.seconds(), -62135596800);
  EXPECT_EQ(ts.nanos(), 0);
}

// The EPCIS eventID and hash travel both ways; a native event (without them) has the same
// bytes as before the fields existed.
TEST(EventCodecEpcisTest, TheEpcisFieldsRoundTripAndAreAbsentFromNativeBytes) {
  domain::Event event;
  event.event_id = "e-1";
  event.event_time = absl::FromUnixSeconds(1767600000);
  event.subject = "party/p";
  event.actor = "p";
  event.payload = domain::PartyRegistered{"p", "P", "AU", ""};
  v1::Event native;
  EventToProto(event, &native);
  EXPECT_TRUE(native.epcis_event_id().empty() && native.epcis_event_hash().empty());
  const std::string native_bytes = native.SerializeAsString();
  event.epcis_event_id = "urn:uuid:5a1e0000-0000-4000-8000-000000000001";
  event.epcis_event_hash = "ni:///sha-256;" + std::string(64, 'a') + "?ver=CBV2.0";
  v1::Event captured;
  EventToProto(event, &captured);
  auto back = EventFromProto(captured);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, event);
  v1::Event cleared = captured;
  cleared.clear_epcis_event_id();
  cleared.clear_epcis_event_hash();
  EXPECT_EQ(cleared.SerializeAsString(), native_bytes);
}

}  // namespace
}  // namespace lodestone::codec
