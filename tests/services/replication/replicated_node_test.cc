// Three in-process ledger nodes replicating through a real 3-member etcd cluster: one leader
// commits every group with a fenced etcd Txn, the followers apply the batches, and all end with
// the same log, Merkle root and chain.
#include "services/replication/replicated_node.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "services/codec/event_codec.h"
#include "services/ledger/ledger.h"
#include "services/ledger/ledger_service.h"
#include "services/loadgen/workload.h"
#include "services/rpc/server_builder.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_until.h"

namespace lodestone::replication {
namespace {

namespace lg = ::lodestone::loadgen;

using testing::WaitUntil;

ledger::AppendBatch Batch(std::vector<v1::Event> events) {
  ledger::AppendBatch batch;
  for (const auto& e : events) batch.events.push_back(*codec::EventFromProto(e));
  return batch;
}

ledger::AppendBatch Lot(int i) {
  return Batch({lg::LotExtracted(absl::StrCat("e", i), absl::StrCat("L", i), "m-mine",
                                 v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)});
}

std::unique_ptr<EtcdClient> Client(const testing::EtcdCluster& cluster) {
  auto client = EtcdClient::Create({.endpoints = cluster.endpoints()});
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::optional<v1::internal::ReplicationWindow> ReadWindow(EtcdClient& client) {
  auto value = client.Get("/lodestone/test/window");
  if (!value.ok()) return std::nullopt;
  v1::internal::ReplicationWindow window;
  if (!window.ParseFromString(value->value)) return std::nullopt;
  return window;
}

// A peer that serves a real node's log with one byte of one record flipped.
class FlippingPeer final : public v1::LedgerService::Service {
 public:
  FlippingPeer(const std::string& target, uint64_t flip_position)
      : stub_(v1::LedgerService::NewStub(
            grpc::CreateChannel(target, grpc::InsecureChannelCredentials()))),
        flip_position_(flip_position) {}

  grpc::Status ReadAll(grpc::ServerContext*, const v1::ReadAllRequest* request,
                       v1::ReadAllResponse* response) override {
    grpc::ClientContext context;
    grpc::Status status = stub_->ReadAll(&context, *request, response);
    for (auto& event : *response->mutable_events()) {
      if (event.position() != flip_position_) continue;
      std::string& subject = *event.mutable_event()->mutable_subject();
      subject[subject.size() / 2] ^= 0x01;
      ++flipped;
    }
    return status;
  }
  grpc::Status GetConsistencyProof(grpc::ServerContext*,
                                   const v1::GetConsistencyProofRequest* request,
                                   v1::ConsistencyProof* response) override {
    grpc::ClientContext context;
    return stub_->GetConsistencyProof(&context, *request, response);
  }

  std::atomic<int> flipped{0};

 private:
  std::unique_ptr<v1::LedgerService::Stub> stub_;
  const uint64_t flip_position_;
};

// One ledger node: its own RocksDB, a Ledger whose replication hook is its ReplicatedNode, and
// a real gRPC server (peers catch up from it).
struct Node {
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<ledger::LedgerServiceImpl> service;
  rpc::StartedServer server;
  std::unique_ptr<ReplicatedNode> node;

  storage::Head head() const { return ledger->log().GetHead(); }

  ~Node() {
    node.reset();
    if (service != nullptr) service->Shutdown();
    if (server.server != nullptr) server.server->Shutdown();
    service.reset();
    ledger.reset();
  }
};

// Counts the node's observer events.
class CountingObserver final : public ReplicationObserver {
 public:
  void OnCommit(absl::Duration, size_t, size_t) override { ++commits; }
  void OnFencingRejection() override { ++fencing_rejections; }
  void OnLeaderChange() override { ++leader_changes; }
  void OnCatchUpRejection() override { ++catchup_rejections; }
  void OnCompaction(int64_t batches) override { compacted += batches; }

  std::atomic<int> commits{0};
  std::atomic<int> fencing_rejections{0};
  std::atomic<int> leader_changes{0};
  std::atomic<int> catchup_rejections{0};
  std::atomic<int64_t> compacted{0};
};

class ReplicatedNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start()) << cluster_.error();
    nodes_.resize(3);
    for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(StartNode(i));
  }

  // (Re)starts node i on its data directory.
  void StartNode(int i) {
    auto node = std::make_unique<Node>();
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub(absl::StrCat("node", i));
    options.log.sync = false;
    options.replicated = true;
    auto ledger = ledger::Ledger::Open(options);
    ASSERT_TRUE(ledger.ok()) << ledger.status();
    node->ledger = *std::move(ledger);
    node->service = std::make_unique<ledger::LedgerServiceImpl>(*node->ledger, nullptr);
    auto server = rpc::StartServer("127.0.0.1:0", {node->service.get()}, {});
    ASSERT_TRUE(server.ok()) << server.status();
    node->server = *std::move(server);
    ReplicatedNodeOptions node_options = node_options_;
    node_options.etcd_endpoints = cluster_.endpoints();
    node_options.cluster = "test";
    node_options.node_id = absl::StrCat("n", i);
    node_options.advertise_address = absl::StrCat("127.0.0.1:", node->server.port);
    node_options.observer = &observers_[i];
    auto replicated = ReplicatedNode::Create(node_options, *node->ledger);
    ASSERT_TRUE(replicated.ok()) << replicated.status();
    node->node = *std::move(replicated);
    ASSERT_TRUE(node->node->Start().ok());
    nodes_[i] = std::move(node);
  }

  void StopNode(int i) { nodes_[i].reset(); }

  void TearDown() override {
    for (auto& node : nodes_) node.reset();
  }

  std::string Address(int i) const { return absl::StrCat("127.0.0.1:", nodes_[i]->server.port); }

  // The single leader among the live nodes, once there is exactly one.
  int WaitForLeader() {
    int leader = -1;
    WaitUntil([&] {
      int count = 0;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i] != nullptr && nodes_[i]->node->role() == NodeRole::kLeader) {
          leader = static_cast<int>(i);
          ++count;
        }
      }
      return count == 1;
    });
    return leader;
  }

  // Every live node holds the same head with `size` records.
  bool Converged(uint64_t size) {
    return WaitUntil([&] {
      const Node* first = nullptr;
      for (const auto& node : nodes_) {
        if (node == nullptr) continue;
        const storage::Head head = node->head();
        if (head.size != size) return false;
        if (first == nullptr) {
          first = node.get();
          continue;
        }
        const storage::Head other = first->head();
        if (head.root != other.root || head.chain != other.chain) return false;
      }
      return true;
    });
  }

  // The event ids of a node's log in order.
  std::vector<std::string> EventIds(const Node& node) {
    std::vector<std::string> ids;
    auto records = node.ledger->log().ReadAll(0, node.head().size + 1, size_t{64} << 20);
    EXPECT_TRUE(records.ok()) << records.status();
    if (records.ok()) {
      for (const auto& record : *records) ids.push_back(record.event_id);
    }
    return ids;
  }

  // Appends the mine setup and `lots` lots [from, from + lots) through `leader`.
  void AppendLots(int leader, int from, int lots, std::vector<std::string>& acked) {
    for (int i = from; i < from + lots; ++i) {
      auto outcome = nodes_[leader]->ledger->AppendAndWait(Lot(i));
      ASSERT_TRUE(outcome.ok()) << outcome.status();
      acked.push_back(absl::StrCat("e", i));
    }
  }

  // Waits for the leader, appends the mine setup and `lots` lots through it, waits until every
  // node has them.
  void StartHistory(int lots, int& leader, std::vector<std::string>& acked) {
    leader = WaitForLeader();
    ASSERT_GE(leader, 0);
    AppendSetup(leader, acked);
    AppendLots(leader, 0, lots, acked);
    ASSERT_TRUE(Converged(acked.size()));
  }

  // Appends through whichever node leads, retrying (with the same event ids: a retry of an
  // append that did commit returns its original positions) until it succeeds or `timeout`.
  bool AppendThroughTheLeader(const ledger::AppendBatch& batch, std::chrono::seconds timeout) {
    return WaitUntil(
        [&] {
          for (const auto& node : nodes_) {
            if (node->node->role() == NodeRole::kLeader &&
                node->ledger->AppendAndWait(batch).ok()) {
              return true;
            }
          }
          return false;
        },
        timeout);
  }

  void AppendSetup(int leader, std::vector<std::string>& acked) {
    ledger::AppendBatch setup = Batch(lg::MineSetup("m", "AU"));
    for (const auto& e : setup.events) acked.push_back(e.event_id);
    auto outcome = nodes_[leader]->ledger->AppendAndWait(std::move(setup));
    ASSERT_TRUE(outcome.ok()) << outcome.status();
  }

  testing::EtcdCluster cluster_;
  lodestone::testing::TempDir dir_;
  ReplicatedNodeOptions node_options_;
  CountingObserver observers_[3];
  std::vector<std::unique_ptr<Node>> nodes_;
};

TEST_F(ReplicatedNodeTest, LeaderReplicatesAndFollowersRefuseAppends) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(30, leader, acked));
  // A follower's own append passes its write model (it has the mine), then the hook refuses it.
  for (int i = 0; i < 3; ++i) {
    if (i == leader) continue;
    auto refused = nodes_[i]->ledger->AppendAndWait(Lot(1000 + i));
    EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
    EXPECT_NE(refused.status().message().find(Address(leader)), std::string::npos)
        << refused.status();
  }
  AppendLots(leader, 30, 5, acked);
  // Concurrent appends: the committer groups them; each group is one etcd batch.
  std::vector<std::future<absl::StatusOr<ledger::AppendOutcome>>> pending;
  for (int i = 35; i < 75; ++i) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<ledger::AppendOutcome>>>();
    pending.push_back(promise->get_future());
    nodes_[leader]->ledger->Append(Lot(i),
                                   [promise](absl::StatusOr<ledger::AppendOutcome> outcome) {
                                     promise->set_value(std::move(outcome));
                                   });
  }
  std::vector<std::pair<uint64_t, std::string>> concurrent;
  for (int i = 0; i < static_cast<int>(pending.size()); ++i) {
    auto outcome = pending[i].get();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    concurrent.emplace_back(outcome->results[0].position, absl::StrCat("e", 35 + i));
  }
  std::sort(concurrent.begin(), concurrent.end());
  for (const auto& [position, id] : concurrent) acked.push_back(id);
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) {
    EXPECT_EQ(EventIds(*node), acked);
    EXPECT_TRUE(node->node->status().ok()) << node->node->status();
  }
}

// The demo data set: every event kind (parties, facilities, licences, extractions,
// transformations, shipments, retractions), appended in batches of 7.
std::vector<ledger::AppendBatch> DemoBatches() {
  std::ifstream file(LODESTONE_DEMO_NDJSON);
  EXPECT_TRUE(file.good()) << LODESTONE_DEMO_NDJSON;
  std::vector<ledger::AppendBatch> batches;
  std::vector<v1::Event> pending;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty()) continue;
    v1::Event event;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok()) << line;
    pending.push_back(std::move(event));
    if (pending.size() == 7) batches.push_back(Batch(std::exchange(pending, {})));
  }
  if (!pending.empty()) batches.push_back(Batch(std::move(pending)));
  return batches;
}

TEST_F(ReplicatedNodeTest, AMixedWorkloadReplicatesAndTheNextLeaderHasTheSameState) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  const std::vector<ledger::AppendBatch> batches = DemoBatches();
  ASSERT_GT(batches.size(), 10u);
  std::vector<std::string> acked;
  for (const auto& batch : batches) {
    auto outcome = nodes_[leader]->ledger->AppendAndWait(batch);
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    for (const auto& e : batch.events) acked.push_back(e.event_id);
  }
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) EXPECT_EQ(EventIds(*node), acked);

  // The next leader judges appends on the write model its follower applies built: a replay is
  // a duplicate with the original positions, and an event its state forbids is refused.
  StopNode(leader);
  const int next = WaitForLeader();
  ASSERT_GE(next, 0);
  auto replay = nodes_[next]->ledger->AppendAndWait(batches[3]);
  ASSERT_TRUE(replay.ok()) << replay.status();
  EXPECT_TRUE(replay->duplicate);
  EXPECT_EQ(replay->results.front().position, 3u * 7u);
  ledger::AppendBatch again = batches[0];  // the same registrations under new event ids
  for (auto& e : again.events) e.event_id += "-again";
  auto refused = nodes_[next]->ledger->AppendAndWait(again);
  EXPECT_FALSE(refused.ok());
  EXPECT_FALSE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(nodes_[next]->head().size, acked.size());
}

TEST_F(ReplicatedNodeTest, FailsOverWhenTheLeaderStops) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(15, leader, acked));

  StopNode(leader);  // ReplicatedNode::Stop() resigns
  const auto stopped = std::chrono::steady_clock::now();
  const int next = WaitForLeader();
  ASSERT_GE(next, 0);
  ASSERT_NE(next, leader);
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, std::chrono::seconds(3));
  AppendLots(next, 15, 15, acked);
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) {
    if (node == nullptr) continue;
    EXPECT_EQ(EventIds(*node), acked);
  }
}

TEST_F(ReplicatedNodeTest, ADeposedLeaderCannotCommit) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(10, leader, acked));

  // Its lease "expires": revoked behind its back, which deletes its campaign key.
  auto client = EtcdClient::Create({.endpoints = cluster_.endpoints()});
  ASSERT_TRUE(client.ok()) << client.status();
  const int64_t lease = nodes_[leader]->node->lease_id();
  ASSERT_NE(lease, 0);
  ASSERT_TRUE((*client)->RevokeLease(lease).ok());

  const uint64_t before = nodes_[leader]->head().size;
  auto refused = nodes_[leader]->ledger->AppendAndWait(Lot(500));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(nodes_[leader]->head().size, before);
  EXPECT_EQ(observers_[leader].fencing_rejections.load(), 1);  // counted once, then it stepped down

  // Someone leads again (possibly the same node, with a new lease) and appends continue.
  int next = -1;
  ASSERT_TRUE(WaitUntil([&] {
    next = WaitForLeader();
    return next >= 0;
  }));
  ASSERT_TRUE(WaitUntil([&] {
    auto outcome = nodes_[next]->ledger->AppendAndWait(Lot(10));
    return outcome.ok();
  }));
  acked.push_back("e10");
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) EXPECT_EQ(EventIds(*node), acked);
}

TEST_F(ReplicatedNodeTest, FollowersStopAtAGapAndReportIt) {
  const int leader = WaitForLeader();
  ASSERT_GE(leader, 0);
  std::vector<std::string> acked;
  AppendSetup(leader, acked);
  ASSERT_TRUE(Converged(acked.size()));
  const int64_t sequence = nodes_[leader]->node->applied_sequence();
  ASSERT_EQ(sequence, 1);

  // A batch that starts past the followers' log end (written behind the leader's back).
  v1::internal::ReplicatedBatch gap;
  gap.set_first_position(acked.size() + 5);
  auto client = EtcdClient::Create({.endpoints = cluster_.endpoints()});
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE(
      (*client)->Put("/lodestone/test/batches/00000000000000000002", gap.SerializeAsString()).ok());
  for (int i = 0; i < 3; ++i) {
    if (i == leader) continue;
    ASSERT_TRUE(WaitUntil([&] { return !nodes_[i]->node->status().ok(); }));
    EXPECT_TRUE(absl::IsDataLoss(nodes_[i]->node->status())) << nodes_[i]->node->status();
    EXPECT_EQ(nodes_[i]->head().size, acked.size());
  }
}

TEST_F(ReplicatedNodeTest, AFollowerRestartsFromItsDurableSequence) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(10, leader, acked));
  const int follower = (leader + 1) % 3;
  // The log sizes converge a moment before the follower publishes the applied sequence it wrote
  // with them: wait for the sequence too.
  ASSERT_TRUE(WaitUntil([&] {
    return nodes_[follower]->node->applied_sequence() == nodes_[leader]->node->applied_sequence();
  }));
  const int64_t sequence = nodes_[follower]->node->applied_sequence();
  StopNode(follower);
  {
    // The sequence is recorded in the follower's own log, with the records it came with.
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub(absl::StrCat("node", follower));
    auto reopened = ledger::Ledger::Open(options);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    EXPECT_EQ(*AppliedSequence((*reopened)->log()), sequence);
  }
  AppendLots(leader, 10, 10, acked);
  ASSERT_NO_FATAL_FAILURE(StartNode(follower));
  ASSERT_TRUE(Converged(acked.size()));
  EXPECT_EQ(EventIds(*nodes_[follower]), acked);
  EXPECT_EQ(nodes_[follower]->node->applied_sequence(), nodes_[leader]->node->applied_sequence());
  EXPECT_TRUE(nodes_[follower]->node->status().ok()) << nodes_[follower]->node->status();
}

TEST_F(ReplicatedNodeTest, FollowersLeaveAWatchOnASilentEtcdMember) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(5, leader, acked));
  // Every client starts on the first endpoint: the followers' watches hang on a member that
  // neither answers nor closes its streams.
  cluster_.Pause(0);
  for (int i = 5; i < 15; ++i) {
    // Whoever leads takes it: the lease may move while etcd fails over.
    ASSERT_TRUE(AppendThroughTheLeader(Lot(i), std::chrono::seconds(20)));
    acked.push_back(absl::StrCat("e", i));
  }
  // Well before gRPC keepalive would abandon the stalled streams (about 15 s): the watchdog
  // replaced them.
  EXPECT_TRUE(Converged(acked.size()));
  cluster_.Resume(0);
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) EXPECT_EQ(EventIds(*node), acked);
}

TEST_F(ReplicatedNodeTest, WithoutAnEtcdQuorumAppendsAreRefusedAndReadsContinue) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(5, leader, acked));
  const uint64_t size = nodes_[leader]->head().size;
  cluster_.Kill(1);
  cluster_.Kill(2);
  auto refused = nodes_[leader]->ledger->AppendAndWait(Lot(100));
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  for (const auto& node : nodes_) {  // every node still serves its log
    EXPECT_EQ(node->head().size, size);
    EXPECT_EQ(EventIds(*node), acked);
  }
  ASSERT_TRUE(cluster_.Restart(1)) << cluster_.error();
  ASSERT_TRUE(cluster_.Restart(2)) << cluster_.error();
  // The refused append's outcome was unknown to its client (etcd may still commit a proposal
  // it had taken): retrying it with the same event id settles it, exactly once.
  for (int i = 100; i < 104; ++i) {
    ASSERT_TRUE(AppendThroughTheLeader(Lot(i), std::chrono::seconds(60)));
    acked.push_back(absl::StrCat("e", i));
  }
  ASSERT_TRUE(Converged(acked.size()));
  for (const auto& node : nodes_) EXPECT_EQ(EventIds(*node), acked);
}

// A leader whose local write failed after etcd committed its batch (simulated: the batch goes
// to etcd through Replicate, never into the leader's log) must not commit the next batch at the
// same positions.
TEST_F(ReplicatedNodeTest, ALeaderWhoseOwnBatchDidNotLandStopsCommitting) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(3, leader, acked));
  auto make_batch = [&](int i) {
    const ledger::AppendBatch lot = Lot(i);
    v1::internal::ReplicatedBatch batch;
    batch.set_first_position(nodes_[leader]->head().size);
    batch.set_commit_time_micros(absl::ToUnixMicros(absl::Now()));
    auto* record = batch.add_records();
    record->set_event_id(lot.events[0].event_id);
    record->set_subject(lot.events[0].subject);
    record->set_payload(codec::CanonicalEventBytes(lot.events[0]));
    return batch;
  };
  v1::internal::ReplicatedBatch lost = make_batch(50);
  ASSERT_TRUE(nodes_[leader]->node->Replicate(lost).ok());
  auto client = Client(cluster_);
  ASSERT_NE(client, nullptr);
  const std::string committed = client->Get("/lodestone/test/sequence")->value;
  v1::internal::ReplicatedBatch next = make_batch(51);  // at the same first position
  const absl::Status refused = nodes_[leader]->node->Replicate(next);
  EXPECT_TRUE(absl::IsDataLoss(refused)) << refused;
  EXPECT_EQ(client->Get("/lodestone/test/sequence")->value, committed);  // nothing more in etcd
  EXPECT_TRUE(absl::IsDataLoss(nodes_[leader]->node->status()));
  // Another node leads and has the lost batch (it applied it from etcd).
  int next_leader = -1;
  ASSERT_TRUE(WaitUntil([&] {
    for (int i = 0; i < 3; ++i) {
      if (i != leader && nodes_[i]->node->role() == NodeRole::kLeader) next_leader = i;
    }
    return next_leader >= 0;
  }));
  EXPECT_EQ(nodes_[leader]->node->role() == NodeRole::kLeader, false);
  acked.push_back("e50");
  EXPECT_EQ(EventIds(*nodes_[next_leader]), acked);
}

// Small windows, frequent housekeeping, chunks of 7 records (several consistency proofs).
class ReplicatedNodeWindowTest : public ReplicatedNodeTest {
 protected:
  void SetUp() override {
    node_options_.window_min_batches = 2;
    node_options_.min_durable_copies = 2;
    node_options_.housekeeping_interval = absl::Milliseconds(50);
    node_options_.catch_up.chunk_records = 7;
    ReplicatedNodeTest::SetUp();
  }
};

TEST_F(ReplicatedNodeWindowTest, ALaggingFollowerCatchesUpFromAPeerAndRefusesBadData) {
  int leader = -1;
  std::vector<std::string> acked;
  ASSERT_NO_FATAL_FAILURE(StartHistory(5, leader, acked));
  const int follower = (leader + 1) % 3;
  const int other = (leader + 2) % 3;
  const int64_t follower_sequence = nodes_[follower]->node->applied_sequence();
  const uint64_t follower_size = nodes_[follower]->head().size;
  StopNode(follower);
  AppendLots(leader, 5, 40, acked);  // 40 more batches

  // The leader compacts once two nodes have applied: the window moves past the follower.
  auto client = Client(cluster_);
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(WaitUntil([&] {
    auto window = ReadWindow(*client);
    return window.has_value() && window->first_sequence() > follower_sequence + 10;
  }));
  const v1::internal::ReplicationWindow window = *ReadWindow(*client);
  EXPECT_GT(observers_[leader].compacted.load(), 0);
  auto batches = client->GetPrefix("/lodestone/test/batches/", kMaxPageKeys, "");
  ASSERT_TRUE(batches.ok()) << batches.status();
  ASSERT_FALSE(batches->kvs.empty());
  v1::internal::ReplicatedBatch oldest;
  ASSERT_TRUE(oldest.ParseFromString(batches->kvs.front().value));
  EXPECT_GE(oldest.sequence(), window.first_sequence());  // everything below it is gone
  EXPECT_GT(window.first_position(), follower_size + 7);

  // A peer that flips one byte of one record is refused, and nothing of its chunk is applied.
  FlippingPeer flipping(Address(other), follower_size + 3);
  auto flipping_server = rpc::StartServer("127.0.0.1:0", {&flipping}, {});
  ASSERT_TRUE(flipping_server.ok()) << flipping_server.status();
  const std::string flipping_address = absl::StrCat("127.0.0.1:", flipping_server->port);
  {
    ledger::LedgerOptions options;
    options.log.path = dir_.Sub("fresh");
    options.log.sync = false;
    auto fresh = ledger::Ledger::Open(options);
    ASSERT_TRUE(fresh.ok()) << fresh.status();
    auto bad = v1::LedgerService::NewStub(
        grpc::CreateChannel(flipping_address, grpc::InsecureChannelCredentials()));
    PeerCatchUpOptions small;
    small.chunk_records = 1000;
    absl::Status refused = CatchUpFromPeer(**fresh, *bad, window, 1, small);
    EXPECT_TRUE(absl::IsDataLoss(refused)) << refused;
    EXPECT_EQ((*fresh)->log().GetHead().size, 0u);
    auto good = v1::LedgerService::NewStub(
        grpc::CreateChannel(Address(other), grpc::InsecureChannelCredentials()));
    absl::Status copied = CatchUpFromPeer(**fresh, *good, window, 1, small);
    ASSERT_TRUE(copied.ok()) << copied;
    const storage::Head head = (*fresh)->log().GetHead();
    EXPECT_EQ(head.size, window.first_position());
    EXPECT_EQ(std::string(head.root.begin(), head.root.end()), window.root_before());
    EXPECT_EQ(std::string(head.chain.begin(), head.chain.end()), window.prev_chain());
  }

  // The flipping peer advertises itself as the most advanced node; it counts for no sequence.
  v1::internal::NodeProgress bad_peer;
  bad_peer.set_node_id("zz-flipping");
  bad_peer.set_advertise_address(flipping_address);
  bad_peer.set_applied_position(uint64_t{1} << 40);
  ASSERT_TRUE(client->Put("/lodestone/test/nodes/zz-flipping", bad_peer.SerializeAsString()).ok());

  ASSERT_NO_FATAL_FAILURE(StartNode(follower));
  ASSERT_TRUE(Converged(acked.size()));
  EXPECT_EQ(EventIds(*nodes_[follower]), acked);
  EXPECT_GE(flipping.flipped.load(), 1);
  EXPECT_GE(observers_[follower].catchup_rejections.load(), 1);
  EXPECT_TRUE(nodes_[follower]->node->status().ok()) << nodes_[follower]->node->status();
  EXPECT_EQ(nodes_[follower]->node->applied_sequence(), nodes_[leader]->node->applied_sequence());

  // Appends continue and reach the caught-up follower through etcd.
  AppendLots(leader, 45, 5, acked);
  ASSERT_TRUE(Converged(acked.size()));
  EXPECT_EQ(EventIds(*nodes_[follower]), acked);
  flipping_server->server->Shutdown();
}

}  // namespace
}  // namespace lodestone::replication
