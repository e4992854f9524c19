// The provenance views' origin profile codec (services/provenance/profile_codec.h). Input: the
// bytes of a stored profile (DecodeProfile's input, format version 1 in profile_codec.cc).
// Invariants: whatever decodes re-encodes to bytes that decode, and encoding is then a fixed
// point (bytes compared, so that NaN shares compare too); the wire form (ProfileToProto /
// ProfileFromProto) carries a decoded profile exactly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lodestone/v1/provenance.pb.h"
#include "services/provenance/profile_codec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace provenance = lodestone::provenance;
  auto profile =
      provenance::DecodeProfile(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!profile.ok()) return 0;
  const std::string encoded = provenance::EncodeProfile(*profile);
  auto again = provenance::DecodeProfile(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(provenance::EncodeProfile(*again) == encoded);

  lodestone::v1::OriginProfile proto;
  provenance::ProfileToProto(*profile, &proto);
  FUZZ_CHECK(provenance::EncodeProfile(provenance::ProfileFromProto(proto)) == encoded);
  return 0;
}
