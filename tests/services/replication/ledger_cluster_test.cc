// Three lodestone-ledger processes in distributed mode over a real 3-member etcd cluster: the
// leader is SIGKILLed under load; a new leader serves within seconds; every acknowledged append
// is present exactly once, in the same order, on every surviving and restarted node, and all
// nodes end with the same Merkle root.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "services/loadgen/workload.h"
#include "services/replication/etcd_client.h"
#include "tests/support/child_process.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/http_get.h"
#include "tests/support/temp_dir.h"

namespace lodestone {
namespace {

namespace lg = ::lodestone::loadgen;

class LedgerNode {
 public:
  LedgerNode(const std::string& data_dir, const std::string& endpoints, const std::string& id) {
    EXPECT_TRUE(
        child_.Start({LODESTONE_LEDGER_BINARY, "--listen=127.0.0.1:0",
                      "--metrics_listen=127.0.0.1:0", "--data_dir=" + data_dir,
                      "--etcd_endpoints=" + endpoints, "--node_id=" + id, "--lease_ttl_ms=1500"}));
    auto line = child_.WaitForLine("serving gRPC on port", std::chrono::seconds(30));
    EXPECT_TRUE(line.has_value()) << child_.output();
    if (!line) return;
    address_ = absl::StrCat("127.0.0.1:", std::stoi(line->substr(line->find("port ") + 5)));
    metrics_port_ = std::stoi(line->substr(line->find("metrics on port ") + 16));
    stub_ = v1::LedgerService::NewStub(
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()));
  }
  v1::LedgerService::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }
  int metrics_port() const { return metrics_port_; }
  testing::ChildProcess& child() { return child_; }

 private:
  testing::ChildProcess child_;
  std::string address_;
  int metrics_port_ = 0;
  std::unique_ptr<v1::LedgerService::Stub> stub_;
};

v1::Head Head(v1::LedgerService::Stub& stub) {
  v1::Head head;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  if (!stub.GetHead(&context, v1::GetHeadRequest(), &head).ok()) head.set_size(UINT64_MAX);
  return head;
}

std::vector<std::string> EventIds(v1::LedgerService::Stub& stub) {
  std::vector<std::string> ids;
  for (uint64_t next = 0;;) {
    v1::ReadAllRequest request;
    request.set_from_position(next);
    request.set_max_events(1000);
    v1::ReadAllResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    if (!stub.ReadAll(&context, request, &response).ok() || response.events_size() == 0) break;
    for (const auto& e : response.events()) ids.push_back(e.event().event_id());
    next = response.next_position();
  }
  return ids;
}

class LedgerClusterTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.Start()) << etcd_.error(); }

  void StartNode(int i) {
    nodes_[i] = std::make_unique<LedgerNode>(dir_.Sub(absl::StrCat("node", i)), etcd_.endpoints(),
                                             absl::StrCat("node", i));
  }

  // Appends through whichever node leads: a follower names the leader in its UNAVAILABLE.
  grpc::Status Append(const std::vector<v1::Event>& events, v1::AppendResponse* response) {
    grpc::Status status;
    for (int attempt = 0; attempt < 200; ++attempt) {
      for (auto& node : nodes_) {
        if (node == nullptr) continue;
        v1::AppendRequest request;
        for (const auto& e : events) *request.add_events() = e;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        status = node->stub().Append(&context, request, response);
        if (status.error_code() != grpc::StatusCode::UNAVAILABLE) return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));  // no leader yet: poll again
    }
    return status;
  }

  bool Converged(const std::vector<int>& alive) {
    for (int attempt = 0; attempt < 400; ++attempt) {
      std::vector<v1::Head> heads;
      for (int i : alive) heads.push_back(Head(nodes_[i]->stub()));
      bool same = true;
      for (const auto& head : heads) {
        same &= head.size() == heads[0].size() && head.root_hash() == heads[0].root_hash();
      }
      if (same && heads[0].size() != UINT64_MAX) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return false;
  }

  testing::TempDir dir_;
  testing::EtcdCluster etcd_;
  std::unique_ptr<LedgerNode> nodes_[3];
  std::vector<std::string> acked_;  // acknowledged event ids, in acknowledgement order
};

TEST_F(LedgerClusterTest, LeaderSigkillLosesNoAcknowledgedAppend) {
  for (int i = 0; i < 3; ++i) StartNode(i);
  v1::AppendResponse response;
  ASSERT_TRUE(Append(lg::MineSetup("m", "AU"), &response).ok());
  acked_ = {"m-e-party", "m-e-mine"};
  for (int i = 0; i < 30; ++i) {
    const std::string id = absl::StrCat("e", i);
    ASSERT_TRUE(Append({lg::LotExtracted(id, absl::StrCat("L", i), "m-mine",
                                         v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)},
                       &response)
                    .ok());
    acked_.push_back(id);
  }
  ASSERT_TRUE(Converged({0, 1, 2}));
  // Every node accepts appends: followers forward them to the leader.
  for (int i = 0; i < 3; ++i) {
    v1::AppendRequest request;
    *request.add_events() =
        lg::PartyRegistered(absl::StrCat("via-", i), absl::StrCat("via-party-", i), "AU");
    v1::AppendResponse r;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto status = nodes_[i]->stub().Append(&context, request, &r);
    ASSERT_TRUE(status.ok()) << "node " << i << ": " << status.error_message();
    acked_.push_back(absl::StrCat("via-", i));
  }
  ASSERT_TRUE(Converged({0, 1, 2}));
  // The leader: the node whose address the etcd election names.
  int leader = -1;
  auto etcd = replication::EtcdClient::Create({.endpoints = etcd_.endpoints()});
  ASSERT_TRUE(etcd.ok()) << etcd.status();
  auto elected = (*etcd)->Leader("/lodestone/default/election");
  ASSERT_TRUE(elected.ok()) << elected.status();
  for (int i = 0; i < 3; ++i) {
    if (elected->value.find(nodes_[i]->address()) != std::string::npos) leader = i;
  }
  ASSERT_GE(leader, 0) << elected->value;
  // The leader, and only it, says so in its metrics.
  for (int i = 0; i < 3; ++i) {
    auto body = testing::HttpGet(nodes_[i]->metrics_port(), "/metrics");
    ASSERT_TRUE(body.has_value());
    EXPECT_NE(body->find(i == leader ? "lodestone_replication_is_leader 1"
                                     : "lodestone_replication_is_leader 0"),
              std::string::npos)
        << "node " << i;
  }
  // SIGKILL the leader, then keep appending through whoever leads next.
  nodes_[leader]->child().Signal(SIGKILL);
  nodes_[leader]->child().Wait();
  nodes_[leader].reset();
  const auto killed_at = std::chrono::steady_clock::now();
  bool first_after = true;
  for (int i = 30; i < 60; ++i) {
    const std::string id = absl::StrCat("e", i);
    auto status = Append({lg::LotExtracted(id, absl::StrCat("L", i), "m-mine",
                                           v1::MATERIAL_ANTIMONY_ORE, "261710", 1000 + i)},
                         &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (first_after) {
      first_after = false;
      const auto failover = std::chrono::steady_clock::now() - killed_at;
      EXPECT_LT(failover, std::chrono::seconds(10)) << "failover took too long";
    }
    acked_.push_back(id);
  }
  std::vector<int> alive;
  for (int i = 0; i < 3; ++i) {
    if (nodes_[i] != nullptr) alive.push_back(i);
  }
  ASSERT_TRUE(Converged(alive));
  // The killed node comes back and catches up.
  StartNode(leader);
  ASSERT_TRUE(Converged({0, 1, 2}));
  for (int i = 0; i < 3; ++i) {
    const auto ids = EventIds(nodes_[i]->stub());
    std::map<std::string, int> count;
    for (const auto& id : ids) ++count[id];
    size_t last = 0;
    for (const auto& id : acked_) {
      ASSERT_EQ(count[id], 1) << "node " << i << ": acknowledged " << id << " not exactly once";
      const size_t at = std::find(ids.begin(), ids.end(), id) - ids.begin();
      ASSERT_GE(at, last) << "node " << i << ": acknowledged appends out of order at " << id;
      last = at;
    }
  }
}

}  // namespace
}  // namespace lodestone
