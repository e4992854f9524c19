// The wire <-> domain time conversions: exact over the whole Timestamp range, never clamped.
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

}  // namespace
}  // namespace lodestone::codec
