// lodestone-loadgen: drives a ledger over gRPC and prints throughput and latency figures.
// Scenarios (all in one run, against one server): the trivial Echo RPC (the gRPC ceiling),
// single-event durable appends with 1, 16 and 64 clients, and 100-event batches with 16 clients.
// Optionally fills the log to a given size with large batches. With --signing_key every event is
// signed (docs/write-model.md, "Keys and signatures"), the key registered first.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "services/codec/event_codec.h"
#include "services/codec/event_signer.h"
#include "services/crypto/ed25519.h"
#include "services/loadgen/graph.h"
#include "services/loadgen/workload.h"

ABSL_FLAG(std::string, target, "127.0.0.1:7400", "ledger gRPC address");
ABSL_FLAG(double, seconds, 5.0, "duration of each scenario");
ABSL_FLAG(std::string, scenarios, "echo,single1,single16,single64,batch100x16",
          "comma-separated scenarios: echo, singleN (N clients, 1-event appends), "
          "batchBxN (N clients, B-event appends)");
ABSL_FLAG(int64_t, fill, 0, "after the scenarios, append events until the log holds this many");
ABSL_FLAG(bool, head_only, false, "print the log size and exit");
ABSL_FLAG(int64_t, graph_lots, 0,
          "append a generated supply-chain graph of this many lots (and a deep chain) first");
ABSL_FLAG(uint64_t, graph_seed, 1, "seed of the generated graph");
ABSL_FLAG(std::string, provenance, "",
          "provenance address: measure its fold rate until caught up, then query rates "
          "(GetLot, TraceOrigin, against the ledger's Echo) and trace latency by depth; the "
          "graph flags must match the graph in the ledger");
ABSL_FLAG(int64_t, deep_chain, 1000, "length of the generated deep chain");
ABSL_FLAG(std::string, graph_ndjson, "",
          "write the generated graph to this file as NDJSON (for lodectl append) and exit");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) shared by the clients");
ABSL_FLAG(std::string, signing_key, "",
          "sign every appended event with this Ed25519 private key (PKCS#8 PEM, as `lodectl "
          "keygen` writes it) as --attester; empty: unsigned");
ABSL_FLAG(std::string, attester, "lodestone-admin",
          "with --signing_key: the party the ledger authenticates this client as, whose key "
          "signs (a plain-text loopback caller is the ledger's --admin_party)");
ABSL_FLAG(bool, register_key, true,
          "with --signing_key: before the scenarios, register --attester as a party (if its "
          "stream is empty) and the key (if its registration is not in the log), as the "
          "administrator; false: the key must already be registered");
ABSL_FLAG(int64_t, prebuilt_events, 0,
          "build (and sign) up to this many events per append scenario before its clock starts, "
          "so that the figures leave out the client's building and signing; a client that uses "
          "up its share builds the rest inside the timed calls (reported). 0: always inside");

namespace {

using Signer = lodestone::codec::EventSigner;
using lodestone::v1::LedgerService;

struct Result {
  std::string name;
  int clients = 0;
  int batch = 0;
  uint64_t requests = 0;
  uint64_t events = 0;
  uint64_t errors = 0;
  double seconds = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

std::vector<std::shared_ptr<grpc::Channel>> MakeChannels(const std::string& target, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("lodestone.channel_index", i);  // distinct args: distinct connections
    args.SetMaxReceiveMessageSize(16 << 20);
    channels.push_back(grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
  }
  return channels;
}

double Percentile(std::vector<double>& values, double q) {
  if (values.empty()) return 0;
  size_t index = std::min(values.size() - 1, static_cast<size_t>(q * values.size()));
  std::nth_element(values.begin(), values.begin() + index, values.end());
  return values[index];
}

// Runs `clients` threads calling `call(client, sequence)` until `duration`; each call returns
// the number of events it carried, or -1 on error.
Result Drive(const std::string& name, int clients, int batch, absl::Duration duration,
             const std::function<int(int, uint64_t)>& call) {
  std::vector<std::vector<double>> latencies(clients);
  std::vector<uint64_t> events(clients), errors(clients);
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      for (uint64_t seq = 0; absl::Now() < end; ++seq) {
        const auto t0 = std::chrono::steady_clock::now();
        int n = call(c, seq);
        const auto t1 = std::chrono::steady_clock::now();
        latencies[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (n < 0) {
          ++errors[c];
        } else {
          events[c] += n;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Result result;
  result.name = name;
  result.clients = clients;
  result.batch = batch;
  result.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::vector<double> all;
  for (int c = 0; c < clients; ++c) {
    all.insert(all.end(), latencies[c].begin(), latencies[c].end());
    result.events += events[c];
    result.errors += errors[c];
  }
  result.requests = all.size();
  result.p50_ms = Percentile(all, 0.50);
  result.p99_ms = Percentile(all, 0.99);
  return result;
}

std::string StatusText(const grpc::Status& status) {
  return absl::StrCat(status.error_code(), ": ", status.error_message());
}

bool SendAppend(LedgerService::Stub& stub, const lodestone::v1::AppendRequest& request,
                std::string* error, lodestone::v1::AppendResponse* response = nullptr) {
  lodestone::v1::AppendResponse ignored;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::Status status = stub.Append(&context, request, response != nullptr ? response : &ignored);
  if (!status.ok() && error != nullptr) *error = StatusText(status);
  return status.ok();
}

// Appends `events`, each signed first when `signer` is given.
bool AppendEvents(LedgerService::Stub& stub, std::vector<lodestone::v1::Event> events,
                  std::string* error, const Signer* signer) {
  lodestone::v1::AppendRequest request;
  for (auto& e : events) {
    if (signer != nullptr) {
      signer->Sign(e);
    }
    *request.add_events() = std::move(e);
  }
  return SendAppend(stub, request, error);
}

// Registers the signer's attester as a party (when its stream is empty) and its key (when the
// key's registration is not in the log), unsigned, as the administrator: the first key of a
// party is registered by the administrator or a registrar before the party signs anything.
bool RegisterKey(LedgerService::Stub& stub, const Signer& signer, std::string* error) {
  // A fixed event id and content: appending it again is idempotent.
  const lodestone::v1::Event registration = lodestone::loadgen::SigningKeyRegistered(
      absl::StrCat("lg-key-", signer.attester(), "-", signer.key_id()), signer.attester(),
      signer.key_id(), signer.public_key());
  {
    lodestone::v1::GetEventRequest request;
    request.set_event_id(registration.event_id());
    lodestone::v1::StoredEvent stored;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub.GetEvent(&context, request, &stored);
    if (status.ok()) {
      std::printf("signing: key %s of %s registered at position %lu\n", signer.key_id().c_str(),
                  signer.attester().c_str(), static_cast<unsigned long>(stored.position()));
      return true;
    }
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) {
      *error = StatusText(status);
      return false;
    }
  }
  lodestone::v1::AppendRequest request;
  {
    lodestone::v1::ReadStreamRequest read;
    read.set_subject("party/" + signer.attester());
    read.set_max_events(1);
    lodestone::v1::ReadStreamResponse stream;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub.ReadStream(&context, read, &stream);
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) {
      *error = StatusText(status);
      return false;
    }
    if (!status.ok() || stream.stream_version() == 0) {  // NOT_FOUND: no such stream yet
      *request.add_events() = lodestone::loadgen::PartyRegistered("lg-party-" + signer.attester(),
                                                                  signer.attester(), "AU");
    }
  }
  *request.add_events() = registration;
  lodestone::v1::AppendResponse response;
  if (!SendAppend(stub, request, error, &response)) return false;
  std::printf("signing: key %s of %s registered at position %lu\n", signer.key_id().c_str(),
              signer.attester().c_str(),
              static_cast<unsigned long>(response.results(response.results_size() - 1).position()));
  return true;
}

void PrintResults(const std::vector<Result>& results) {
  std::printf("%-14s %7s %6s %10s %12s %10s %10s %7s\n", "scenario", "clients", "batch", "requests",
              "events/s", "p50_ms", "p99_ms", "errors");
  for (const auto& r : results) {
    const bool calls = r.batch == 0;
    const double rate = calls ? r.requests / r.seconds : r.events / r.seconds;
    std::printf("%-14s %7d %6d %10lu %12.0f %10.3f %10.3f %7lu\n", r.name.c_str(), r.clients,
                r.batch, static_cast<unsigned long>(r.requests), rate, r.p50_ms, r.p99_ms,
                static_cast<unsigned long>(r.errors));
  }
  std::fflush(stdout);
}

lodestone::loadgen::GraphOptions GraphFromFlags() {
  lodestone::loadgen::GraphOptions graph;
  graph.lots = static_cast<uint64_t>(absl::GetFlag(FLAGS_graph_lots));
  graph.seed = absl::GetFlag(FLAGS_graph_seed);
  graph.prefix = absl::StrCat("g", graph.seed);
  graph.deep_chain = static_cast<int>(absl::GetFlag(FLAGS_deep_chain));
  return graph;
}

int WriteGraph(const std::string& path) {
  std::ofstream out(path);
  if (!out) {
    std::cerr << "loadgen: cannot write " << path << "\n";
    return 1;
  }
  google::protobuf::util::JsonPrintOptions options;
  auto summary = lodestone::loadgen::GenerateGraph(
      GraphFromFlags(), 1000, [&](std::vector<lodestone::v1::Event> events) {
        std::string line;
        for (const auto& event : events) {
          line.clear();
          if (!google::protobuf::util::MessageToJsonString(event, &line, options).ok()) {
            return false;
          }
          out << line << "\n";
        }
        return static_cast<bool>(out);
      });
  std::printf("graph: %lu lots, %lu events written to %s\n",
              static_cast<unsigned long>(summary.lots), static_cast<unsigned long>(summary.events),
              path.c_str());
  return out ? 0 : 1;
}

int ImportGraph(LedgerService::Stub& stub, const Signer* signer) {
  const absl::Time start = absl::Now();
  std::string error;
  auto summary = lodestone::loadgen::GenerateGraph(
      GraphFromFlags(), 1000, [&](std::vector<lodestone::v1::Event> events) {
        return AppendEvents(stub, std::move(events), &error, signer);
      });
  if (!error.empty()) {
    std::cerr << "loadgen: graph import failed: " << error << "\n";
    return 1;
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("graph: %lu lots, %lu events appended in %.1f s (%.0f events/s)\n",
              static_cast<unsigned long>(summary.lots), static_cast<unsigned long>(summary.events),
              seconds, summary.events / seconds);
  return 0;
}

int BenchProvenance(const std::string& address, LedgerService::Stub& ledger, double seconds) {
  using lodestone::v1::ProvenanceService;
  auto summary = lodestone::loadgen::GenerateGraph(
      GraphFromFlags(), 1000, [](std::vector<lodestone::v1::Event>) { return true; });
  if (summary.sample_lots.empty()) {
    std::cerr << "loadgen: the graph has no sample lots\n";
    return 1;
  }
  auto channels = MakeChannels(address, 4);
  std::vector<std::unique_ptr<ProvenanceService::Stub>> stubs;
  for (auto& channel : channels) stubs.push_back(ProvenanceService::NewStub(channel));
  lodestone::v1::Head head;
  {
    grpc::ClientContext context;
    if (!ledger.GetHead(&context, lodestone::v1::GetHeadRequest(), &head).ok()) return 1;
  }
  auto applied = [&]() -> int64_t {
    lodestone::v1::ListFlagsRequest request;
    request.set_max_flags(1);
    lodestone::v1::ListFlagsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    if (!stubs[0]->ListFlags(&context, request, &response).ok()) return -1;
    return static_cast<int64_t>(response.view().applied_position());
  };
  int64_t first = -1;
  for (int i = 0; i < 600 && first < 0; ++i) {
    first = applied();
    if (first < 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (first < 0) {
    std::cerr << "loadgen: provenance " << address << " not reachable\n";
    return 1;
  }
  const absl::Time fold_start = absl::Now();
  int64_t now = first;
  while (now < static_cast<int64_t>(head.size())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    now = applied();
    if (now < 0) return 1;
  }
  const double fold_seconds = absl::ToDoubleSeconds(absl::Now() - fold_start);
  std::printf("fold: %ld events in %.1f s (%.0f events/s), views at %ld\n",
              static_cast<long>(now - first), fold_seconds, (now - first) / fold_seconds,
              static_cast<long>(now));
  std::fflush(stdout);

  const absl::Duration duration = absl::Seconds(seconds);
  const auto& lots = summary.sample_lots;
  std::vector<Result> results;
  results.push_back(Drive("echo(ledger)", 8, 0, duration, [&](int, uint64_t) {
    lodestone::v1::EchoRequest request;
    request.set_payload("ping");
    lodestone::v1::EchoResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ledger.Echo(&context, request, &response).ok() ? 0 : -1;
  }));
  results.push_back(Drive("GetLot", 8, 0, duration, [&](int c, uint64_t seq) {
    lodestone::v1::GetLotRequest request;
    request.set_lot_id(lots[(seq * 8 + c) % lots.size()]);
    lodestone::v1::GetLotResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stubs[c % stubs.size()]->GetLot(&context, request, &response).ok() ? 0 : -1;
  }));
  results.push_back(Drive("TraceOrigin", 8, 0, duration, [&](int c, uint64_t seq) {
    lodestone::v1::TraceOriginRequest request;
    request.set_lot_id(lots[(seq * 8 + c) % lots.size()]);
    request.set_max_nodes(50);
    lodestone::v1::TraceOriginResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stubs[c % stubs.size()]->TraceOrigin(&context, request, &response).ok() ? 0 : -1;
  }));
  PrintResults(results);
  std::printf("%-10s %12s %12s %12s %12s\n", "depth", "trace_p50_ms", "trace_p99_ms",
              "getlot_p50_ms", "getlot_p99_ms");
  for (size_t depth : {size_t{1}, size_t{10}, size_t{100}, size_t{1000}}) {
    if (depth >= summary.deep_chain_lots.size()) break;
    const std::string& lot = summary.deep_chain_lots[depth];
    std::vector<double> trace, get;
    for (int i = 0; i < 200; ++i) {
      lodestone::v1::TraceOriginRequest request;
      request.set_lot_id(lot);
      request.set_max_nodes(50);
      lodestone::v1::TraceOriginResponse response;
      grpc::ClientContext c1;
      auto t0 = std::chrono::steady_clock::now();
      stubs[0]->TraceOrigin(&c1, request, &response);
      auto t1 = std::chrono::steady_clock::now();
      lodestone::v1::GetLotRequest get_request;
      get_request.set_lot_id(lot);
      lodestone::v1::GetLotResponse get_response;
      grpc::ClientContext c2;
      stubs[0]->GetLot(&c2, get_request, &get_response);
      auto t2 = std::chrono::steady_clock::now();
      trace.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      get.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    std::printf("%-10zu %12.3f %12.3f %12.3f %12.3f\n", depth, Percentile(trace, 0.5),
                Percentile(trace, 0.99), Percentile(get, 0.5), Percentile(get, 0.99));
  }
  return 0;
}

// What one signature costs on this machine, for reading the figures: the client's signing and
// the ledger's verification of one extraction (single thread, the project's code).
void PrintSigningCost(const Signer& signer) {
  constexpr int kRounds = 1000;
  lodestone::v1::Event event = lodestone::loadgen::LotExtracted(
      "lg-cost", "lg-cost", "lg-mine", lodestone::v1::MATERIAL_RARE_EARTH_ORE, "253090", 1000000);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) signer.Sign(event);
  const auto t1 = std::chrono::steady_clock::now();
  bool verified = true;
  for (int i = 0; i < kRounds; ++i) {
    // What the ledger does per signed event: decode, the signed bytes, Ed25519 verification.
    auto decoded = lodestone::codec::EventFromProto(event);
    verified &= decoded.ok() && lodestone::crypto::VerifySignature(
                                    signer.public_key(), lodestone::codec::SignedMessage(*decoded),
                                    event.signature().signature());
  }
  const auto t2 = std::chrono::steady_clock::now();
  auto micros = [](auto d) {
    return std::chrono::duration<double, std::micro>(d).count() / kRounds;
  };
  std::printf("signing: %.1f us to sign, %.1f us to verify one event (one thread, %d rounds)%s\n",
              micros(t1 - t0), micros(t2 - t1), kRounds, verified ? "" : " VERIFY FAILED");
}

int Run() {
  if (!absl::GetFlag(FLAGS_graph_ndjson).empty())
    return WriteGraph(absl::GetFlag(FLAGS_graph_ndjson));
  const std::string target = absl::GetFlag(FLAGS_target);
  const absl::Duration duration = absl::Seconds(absl::GetFlag(FLAGS_seconds));
  auto channels = MakeChannels(target, std::max(1, absl::GetFlag(FLAGS_channels)));
  std::vector<std::unique_ptr<LedgerService::Stub>> stubs;
  for (auto& channel : channels) stubs.push_back(LedgerService::NewStub(channel));
  auto stub_for = [&](int client) -> LedgerService::Stub& { return *stubs[client % stubs.size()]; };

  if (absl::GetFlag(FLAGS_head_only)) {
    lodestone::v1::Head head;
    grpc::ClientContext context;
    if (!stubs[0]->GetHead(&context, lodestone::v1::GetHeadRequest(), &head).ok()) return 1;
    std::printf("%lu\n", static_cast<unsigned long>(head.size()));
    return 0;
  }

  std::unique_ptr<Signer> signer;
  if (const std::string path = absl::GetFlag(FLAGS_signing_key); !path.empty()) {
    auto loaded = Signer::Load(path, absl::GetFlag(FLAGS_attester));
    if (!loaded.ok()) {
      std::cerr << "loadgen: " << loaded.status().message() << "\n";
      return 2;
    }
    signer = std::make_unique<Signer>(*std::move(loaded));
    std::string error;
    if (absl::GetFlag(FLAGS_register_key) && !RegisterKey(*stubs[0], *signer, &error)) {
      std::cerr << "loadgen: registering signing key " << signer->key_id() << " of "
                << signer->attester() << " failed: " << error << "\n";
      return 1;
    }
    std::printf("signing: every event signed by key %s of %s\n", signer->key_id().c_str(),
                signer->attester().c_str());
    PrintSigningCost(*signer);
  }

  if (absl::GetFlag(FLAGS_graph_lots) > 0 && absl::GetFlag(FLAGS_provenance).empty()) {
    if (int rc = ImportGraph(*stubs[0], signer.get()); rc != 0) return rc;
  }
  if (!absl::GetFlag(FLAGS_provenance).empty()) {
    return BenchProvenance(absl::GetFlag(FLAGS_provenance), *stubs[0],
                           absl::ToDoubleSeconds(duration));
  }

  // A unique prefix per run, so that runs against the same data directory do not collide.
  const std::string run = absl::StrCat("lg", absl::ToUnixMicros(absl::Now()));
  std::string error;
  if (!AppendEvents(*stubs[0], lodestone::loadgen::MineSetup(run, "AU"), &error, signer.get())) {
    std::cerr << "loadgen: setup failed: " << error << "\n";
    return 1;
  }
  const std::string mine = run + "-mine";
  auto extract = [&](const std::string& lot) {
    return lodestone::loadgen::LotExtracted(
        "e-" + lot, lot, mine, lodestone::v1::MATERIAL_RARE_EARTH_ORE, "253090", 1000000);
  };

  std::vector<Result> results;
  for (const auto& scenario :
       absl::StrSplit(absl::GetFlag(FLAGS_scenarios), ',', absl::SkipEmpty())) {
    std::string s(scenario);
    if (s == "echo") {
      results.push_back(Drive("echo", 16, 0, duration, [&](int c, uint64_t) {
        lodestone::v1::EchoRequest request;
        request.set_payload("ping");
        lodestone::v1::EchoResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
        return stub_for(c).Echo(&context, request, &response).ok() ? 0 : -1;
      }));
      continue;
    }
    int batch = 1, clients = 1;
    if (s.rfind("single", 0) == 0) {
      clients = std::stoi(s.substr(6));
    } else if (s.rfind("batch", 0) == 0) {
      std::vector<std::string> parts = absl::StrSplit(s.substr(5), 'x');
      if (parts.size() != 2) {
        std::cerr << "loadgen: bad scenario " << s << "\n";
        return 2;
      }
      batch = std::stoi(parts[0]);
      clients = std::stoi(parts[1]);
    } else {
      std::cerr << "loadgen: unknown scenario " << s << "\n";
      return 2;
    }
    // Request `seq` of client `c`: `batch` new extractions, signed when signing.
    auto build = [&](int c, uint64_t seq, lodestone::v1::AppendRequest* request) {
      for (int i = 0; i < batch; ++i) {
        auto* event = request->add_events();
        *event = extract(absl::StrCat(run, "-", s, "-c", c, "-", seq, "-", i));
        if (signer != nullptr) signer->Sign(*event);
      }
    };
    std::vector<std::vector<lodestone::v1::AppendRequest>> prebuilt(clients);
    if (const int64_t budget = absl::GetFlag(FLAGS_prebuilt_events); budget > 0) {
      const int64_t per_request = static_cast<int64_t>(batch) * clients;
      const size_t requests = static_cast<size_t>((budget + per_request - 1) / per_request);
      const absl::Time start = absl::Now();
      std::vector<std::thread> builders;
      for (int c = 0; c < clients; ++c) {
        builders.emplace_back([&, c] {
          prebuilt[c].resize(requests);
          for (size_t seq = 0; seq < requests; ++seq) build(c, seq, &prebuilt[c][seq]);
        });
      }
      for (auto& t : builders) t.join();
      std::printf("%s: %lu events built%s before the clock, in %.1f s\n", s.c_str(),
                  static_cast<unsigned long>(requests * per_request),
                  signer != nullptr ? " and signed" : "",
                  absl::ToDoubleSeconds(absl::Now() - start));
    }
    std::atomic<uint64_t> built_inside{0};
    results.push_back(Drive(s, clients, batch, duration, [&](int c, uint64_t seq) {
      lodestone::v1::AppendRequest inside;
      const lodestone::v1::AppendRequest* request = &inside;
      if (seq < prebuilt[c].size()) {
        request = &prebuilt[c][seq];
      } else {
        if (!prebuilt[c].empty()) ++built_inside;
        build(c, seq, &inside);
      }
      std::string error;
      if (SendAppend(stub_for(c), *request, &error)) return batch;
      static std::once_flag once;
      std::call_once(
          once, [&] { std::cerr << "loadgen: first error in " << s << ": " << error << "\n"; });
      return -1;
    }));
    if (built_inside > 0) {
      std::cerr << "loadgen: " << s << ": the prebuilt events ran out; " << built_inside.load()
                << " requests were built inside the timed calls (raise --prebuilt_events)\n";
    }
  }

  PrintResults(results);

  if (const int64_t fill = absl::GetFlag(FLAGS_fill); fill > 0) {
    lodestone::v1::GetHeadRequest head_request;
    lodestone::v1::Head head;
    grpc::ClientContext context;
    if (!stubs[0]->GetHead(&context, head_request, &head).ok()) return 1;
    const int64_t missing = fill - static_cast<int64_t>(head.size());
    constexpr int kFillBatch = 1000;
    constexpr int kFillClients = 8;
    std::atomic<int64_t> next{0};
    std::atomic<uint64_t> failures{0};
    const absl::Time start = absl::Now();
    std::vector<std::thread> threads;
    for (int c = 0; c < kFillClients; ++c) {
      threads.emplace_back([&, c] {
        while (true) {
          const int64_t first = next.fetch_add(kFillBatch);
          if (first >= missing) return;
          std::vector<lodestone::v1::Event> events;
          for (int64_t i = first; i < std::min<int64_t>(first + kFillBatch, missing); ++i) {
            events.push_back(extract(absl::StrCat(run, "-fill-", i)));
          }
          if (!AppendEvents(stub_for(c), std::move(events), nullptr, signer.get())) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("fill: %ld events in %.1f s (%.0f events/s), %lu failed batches\n",
                static_cast<long>(std::max<int64_t>(missing, 0)), seconds,
                std::max<int64_t>(missing, 0) / seconds, static_cast<unsigned long>(failures));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("lodestone-loadgen: load generator for the Lodestone ledger.");
  absl::ParseCommandLine(argc, argv);
  return Run();
}
