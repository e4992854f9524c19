// Writes the binary seed files of the fuzz corpora (tests/fuzz/README.md) from the demo data:
//   fuzz_make_seeds SOURCE_ROOT
// event/ and replicated_batch/ get prefixes of the demo's events (credentials/setup.ndjson,
// demo.ndjson, then credentials/keys.ndjson), profile/ a few stored profiles, proof/ one input
// of each mode. The text corpora (ndjson/, epcis/) are plain copies of demo and test files.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "lodestone/v1/events.pb.h"
#include "lodestone/v1/ledger.pb.h"
#include "lodestone/v1/state.pb.h"
#include "services/codec/event_codec.h"
#include "services/domain/origin.h"
#include "services/provenance/profile_codec.h"

namespace {

namespace fs = std::filesystem;
using lodestone::v1::Event;

std::vector<Event> ReadEvents(const fs::path& file) {
  std::vector<Event> events;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    Event event;
    if (!google::protobuf::util::JsonStringToMessage(line, &event).ok()) {
      std::fprintf(stderr, "%s: a line does not parse\n", file.c_str());
      std::exit(1);
    }
    events.push_back(std::move(event));
  }
  return events;
}

void Write(const fs::path& file, const std::string& bytes) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << bytes;
}

std::string U64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s SOURCE_ROOT\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];
  const fs::path demo = root / "services/programs/server/demo";
  const fs::path out = root / "tests/fuzz";
  // The keys last: a party's key is registered after the party, and its later events would
  // need signatures.
  std::vector<Event> events;
  for (const char* name : {"credentials/setup.ndjson", "demo.ndjson", "credentials/keys.ndjson"}) {
    for (auto& event : ReadEvents(demo / name)) events.push_back(std::move(event));
  }

  // event/: AppendRequests of the first n events, and of single events of each payload kind.
  for (size_t n : {4, 16, 40, 64}) {
    lodestone::v1::AppendRequest request;
    for (size_t i = 0; i < n && i < events.size(); ++i) *request.add_events() = events[i];
    Write(out / "event" / ("seed-first-" + std::to_string(n)), request.SerializeAsString());
  }
  std::vector<bool> seen(Event::kSignatureFieldNumber + 1);
  for (const auto& event : events) {
    const int kind = event.payload_case();
    if (seen[kind]) continue;
    seen[kind] = true;
    lodestone::v1::AppendRequest request;
    *request.add_events() = event;
    Write(out / "event" / ("seed-kind-" + std::to_string(kind)), request.SerializeAsString());
  }

  // replicated_batch/: the first n events as the batch a leader commits at position 0.
  auto batch_of = [&](size_t n) {
    lodestone::v1::internal::ReplicatedBatch batch;
    batch.set_commit_time_micros(1767225600000000);  // 2026-01-01
    for (size_t i = 0; i < n && i < events.size(); ++i) {
      auto* record = batch.add_records();
      record->set_event_id(events[i].event_id());
      record->set_subject(events[i].subject());
      record->set_payload(lodestone::codec::DeterministicEventBytes(events[i]));
    }
    return batch;
  };
  for (size_t n : {0, 1, 4, 16, 32}) {
    Write(out / "replicated_batch" / ("seed-first-" + std::to_string(n)),
          batch_of(n).SerializeAsString());
  }
  // The parties, then signing keys of the first of them (their events, not the demo's prefix).
  lodestone::v1::internal::ReplicatedBatch keys = batch_of(0);
  std::vector<std::string> parties;
  auto add = [&keys](const Event& event) {
    auto* record = keys.add_records();
    record->set_event_id(event.event_id());
    record->set_subject(event.subject());
    record->set_payload(lodestone::codec::DeterministicEventBytes(event));
  };
  for (const auto& event : events) {
    if (event.has_party_registered() && parties.size() < 16) {
      parties.push_back(event.party_registered().party_id());
      add(event);
    }
  }
  for (const auto& event : events) {
    if (event.has_signing_key_registered() && keys.records_size() < 32 &&
        std::count(parties.begin(), parties.end(), event.signing_key_registered().party_id())) {
      add(event);
    }
  }
  Write(out / "replicated_batch" / "seed-keys", keys.SerializeAsString());
  auto fenced = batch_of(8);
  fenced.set_sequence(7);
  fenced.set_batch_id(std::string(16, '\x5a'));
  fenced.set_leader_node_id("node-1");
  fenced.set_leader_rev(42);
  Write(out / "replicated_batch" / "seed-fenced", fenced.SerializeAsString());
  auto gap = batch_of(2);
  gap.set_first_position(3);
  Write(out / "replicated_batch" / "seed-gap", gap.SerializeAsString());

  // profile/: stored origin profiles.
  namespace domain = lodestone::domain;
  domain::OriginProfile empty;
  Write(out / "profile" / "seed-empty", lodestone::provenance::EncodeProfile(empty));
  domain::OriginProfile mined;
  mined.stages[static_cast<int>(domain::Stage::kMining)] = {{"CN", 0.75}, {"BO", 0.25}};
  mined.stages[static_cast<int>(domain::Stage::kRefining)] = {{"CN", 1.0}};
  mined.customs_origin = "CN";
  mined.route = {{"BO", domain::RouteRole::kMined, 0.25},
                 {"CL", domain::RouteRole::kTransited, 0.25},
                 {"CN", domain::RouteRole::kProcessed, 1.0}};
  mined.regions = {{"CN-HN", 0.75}};
  mined.parties = {{"cn-hsn-antimony", 0.75}, {"bo-potosi-coop", 0.25}};
  Write(out / "profile" / "seed-mined", lodestone::provenance::EncodeProfile(mined));
  domain::OriginProfile valued = mined;
  valued.value.total = domain::LotValue{123456789, "USD", 5000000};
  valued.value.by_stage[static_cast<int>(domain::Stage::kMining)] = {{"CN", 0.6}, {"BO", 0.4}};
  Write(out / "profile" / "seed-valued", lodestone::provenance::EncodeProfile(valued));
  domain::OriginProfile gapped = mined;
  gapped.value.gap = domain::ValueGap::kCurrencyMismatch;
  Write(out / "profile" / "seed-gap", lodestone::provenance::EncodeProfile(gapped));

  // proof/: one input per mode (proof_fuzzer.cc documents the format).
  Write(out / "proof" / "seed-inclusion",
        std::string("\x00\x0c\x07", 3) + U64(5) + std::string("\x10\x00", 2));
  Write(out / "proof" / "seed-consistency",
        std::string("\x01\x0c\x07", 3) + U64(6) + std::string("\x10\x00", 2));
  Write(out / "proof" / "seed-differential", "\x02" + U64(3) + U64(7) + std::string(32, 'x') +
                                                 std::string(32, 'y') + std::string(96, 'p'));
  Write(out / "proof" / "seed-forgery",
        std::string("\x03\x0c\x07", 3) + U64(5) + "\x06leaf 7" + std::string(128, 'p'));
  std::printf("seeds written under %s\n", out.c_str());
  return 0;
}
