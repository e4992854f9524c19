// The etcd client against a real 3-member etcd cluster per test (tests/support/etcd_cluster.h).
#include "services/replication/etcd_client.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/etcd_cluster.h"
#include "tests/support/wait_until.h"

namespace lodestone::replication {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using Type = WatchEvent::Type;

using testing::WaitUntil;

// Collects watch events from the watcher's thread.
class EventLog {
 public:
  Watcher::Callback Callback() {
    return [this](const WatchEvent& event) {
      std::lock_guard lock(mu_);
      events_.push_back(event);
    };
  }
  std::vector<WatchEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() const { return events().size(); }

 private:
  mutable std::mutex mu_;
  std::vector<WatchEvent> events_;
};

// Runs a campaign on its own thread (it blocks until leader).
class Campaigner {
 public:
  Campaigner(EtcdClient& client, std::string election, int64_t lease, std::string value,
             Canceller* cancel = nullptr) {
    thread_ = std::thread([=, &client, this] {
      auto result = client.Campaign(election, lease, value, absl::Seconds(15), cancel);
      std::lock_guard lock(mu_);
      result_ = std::move(result);
    });
  }
  ~Campaigner() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return result_.has_value();
  }
  absl::StatusOr<LeaderKey> Result() {
    if (thread_.joinable()) thread_.join();
    return *result_;
  }

 private:
  mutable std::mutex mu_;
  std::optional<absl::StatusOr<LeaderKey>> result_;
  std::thread thread_;
};

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start()) << cluster_.error();
    client_ = NewClient();
  }

  std::unique_ptr<EtcdClient> NewClient(absl::Duration attempt_timeout = absl::Seconds(1)) {
    EtcdClientOptions options;
    options.endpoints = cluster_.endpoints();
    options.call_timeout = absl::Seconds(8);
    options.attempt_timeout = attempt_timeout;
    auto client = EtcdClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return std::move(*client);
  }

  Lease Grant() {
    absl::StatusOr<Lease> lease = client_->GrantLease(absl::Seconds(1));
    EXPECT_TRUE(lease.ok()) << lease.status();
    return lease.value_or(Lease{});
  }

  bool Exists(const std::string& key) { return client_->Get(key).ok(); }

  // v3election's campaign key: <election>/<lease in hex>.
  static std::string CampaignKey(const std::string& election, int64_t lease) {
    char hex[32];
    std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(lease));
    return election + "/" + hex;
  }

  size_t Campaigners(const std::string& election) {
    auto keys = client_->GetPrefix(election + "/", 0);
    return keys.ok() ? keys->kvs.size() : 0;
  }

  lodestone::testing::EtcdCluster cluster_;
  std::unique_ptr<EtcdClient> client_;
};

TEST(EtcdClientCreateTest, RejectsMalformedEndpointLists) {
  for (const char* endpoints : {"", "127.0.0.1:1,,127.0.0.1:2", "https://127.0.0.1:2379"}) {
    EXPECT_EQ(EtcdClient::Create({endpoints}).status().code(), absl::StatusCode::kInvalidArgument)
        << endpoints;
  }
  EXPECT_TRUE(EtcdClient::Create({"http://127.0.0.1:1, 127.0.0.1:2"}).ok());
}

TEST(EtcdClientCreateTest, UnreachableEtcdFailsWithinTheCallDeadline) {
  EtcdClientOptions options;
  options.endpoints = "127.0.0.1:1,127.0.0.1:2";  // nothing listens on ports 1 and 2
  options.call_timeout = absl::Milliseconds(500);
  auto client = EtcdClient::Create(options);
  ASSERT_TRUE(client.ok());
  const absl::Time start = absl::Now();
  const absl::Status status = (*client)->Put("k", "v").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(EtcdClientTest, PutGetAndTxnCompares) {
  absl::StatusOr<int64_t> created = client_->Put("/t/a", "1");
  ASSERT_TRUE(created.ok()) << created.status();
  absl::StatusOr<KeyValue> a = client_->Get("/t/a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->value, "1");
  EXPECT_EQ(a->create_revision, *created);
  EXPECT_EQ(a->mod_revision, *created);
  EXPECT_EQ(a->version, 1);
  EXPECT_EQ(client_->Get("/t/missing").status().code(), absl::StatusCode::kNotFound);

  // Compare holds: both puts apply at one revision.
  absl::StatusOr<TxnResult> txn = client_->Txn({Compare::ValueEquals("/t/a", "1")},
                                               {TxnOp::Put("/t/a", "2"), TxnOp::Put("/t/b", "x")});
  ASSERT_TRUE(txn.ok()) << txn.status();
  EXPECT_TRUE(txn->succeeded);
  EXPECT_GT(txn->revision, *created);
  EXPECT_EQ(client_->Get("/t/a")->value, "2");
  EXPECT_EQ(client_->Get("/t/b")->mod_revision, txn->revision);

  // Compare fails: nothing applies; the revision is the current one.
  absl::StatusOr<TxnResult> stale =
      client_->Txn({Compare::ValueEquals("/t/a", "1")}, {TxnOp::Put("/t/a", "3")});
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_FALSE(stale->succeeded);
  EXPECT_EQ(stale->revision, txn->revision);
  EXPECT_EQ(client_->Get("/t/a")->value, "2");

  // Create-if-absent: version 0 means the key does not exist.
  EXPECT_TRUE(
      client_->Txn({Compare::VersionEquals("/t/c", 0)}, {TxnOp::Put("/t/c", "c")})->succeeded);
  EXPECT_FALSE(
      client_->Txn({Compare::VersionEquals("/t/c", 0)}, {TxnOp::Put("/t/c", "d")})->succeeded);

  // Revisions: create and mod revision together identify this incarnation of the key.
  EXPECT_TRUE(client_
                  ->Txn({Compare::CreateRevisionEquals("/t/a", *created),
                         Compare::ModRevisionEquals("/t/a", txn->revision)},
                        {TxnOp::Delete("/t/a")})
                  ->succeeded);
  EXPECT_EQ(client_->Get("/t/a").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*client_->Delete("/t/b"), 1);
  EXPECT_EQ(*client_->Delete("/t/b"), 0);
}

TEST_F(EtcdClientTest, EnforcesSizeLimitsBeforeSending) {
  const std::string max_value(kMaxValueBytes, 'v');
  EXPECT_TRUE(client_->Put("/big/max", max_value).ok());
  EXPECT_EQ(client_->Get("/big/max")->value.size(), kMaxValueBytes);
  EXPECT_EQ(client_->Put("/big/over", max_value + "v").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->Put("", "v").status().code(), absl::StatusCode::kInvalidArgument);
  // Two values within the value limit, but the request exceeds etcd's request limit.
  EXPECT_EQ(client_->Txn({}, {TxnOp::Put("/big/1", max_value), TxnOp::Put("/big/2", max_value)})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<TxnOp> ops;
  for (size_t i = 0; i <= kMaxTxnOps; ++i)
    ops.push_back(TxnOp::Put("/big/k" + std::to_string(i), ""));
  EXPECT_EQ(client_->Txn({}, ops).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->GetPrefix("/big/", 0)->kvs.size(), 1u);  // nothing else was written
}

TEST_F(EtcdClientTest, GetPrefixPagesWithALimit) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(
        client_->Put("/p/k" + std::string(i < 10 ? "0" : "") + std::to_string(i), "v").ok());
  }
  ASSERT_TRUE(client_->Put("/pz", "outside").ok());
  ASSERT_TRUE(client_->Put("/o", "outside").ok());

  std::vector<std::string> keys;
  std::vector<size_t> pages;
  std::string from;
  while (true) {
    absl::StatusOr<RangeResult> page = client_->GetPrefix("/p/", 10, from);
    ASSERT_TRUE(page.ok()) << page.status();
    pages.push_back(page->kvs.size());
    for (const KeyValue& kv : page->kvs) keys.push_back(kv.key);
    if (!page->more) break;
    from = page->kvs.back().key + '\0';
  }
  EXPECT_THAT(pages, ElementsAre(10, 10, 5));
  ASSERT_EQ(keys.size(), 25u);
  EXPECT_EQ(keys.front(), "/p/k00");
  EXPECT_EQ(keys.back(), "/p/k24");
  EXPECT_EQ(client_->GetPrefix("/p/", 0)->kvs.size(), 25u);  // 0: up to kMaxPageKeys
  EXPECT_EQ(*client_->DeletePrefix("/p/"), 25);
  EXPECT_TRUE(Exists("/pz"));
}

TEST_F(EtcdClientTest, GetPrefixShrinksAPageThatWouldNotFitTheReceiveLimit) {
  EtcdClientOptions options;
  options.endpoints = cluster_.endpoints();
  options.max_receive_bytes = kMinReceiveBytes + (kMinReceiveBytes / 4);  // 2.5 MiB
  auto client = EtcdClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  const std::string value(kMaxValueBytes, 'v');
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client_->Put("/m/" + std::to_string(i), value).ok());

  absl::StatusOr<RangeResult> page = (*client)->GetPrefix("/m/", 5);  // 5 MiB: halved twice
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->kvs.size(), 2u);
  EXPECT_TRUE(page->more);
  EXPECT_EQ(EtcdClient::Create({cluster_.endpoints(), absl::Seconds(1), absl::Seconds(1), 1 << 20})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EtcdClientTest, LeasedKeyExpiresUnlessKeptAlive) {
  const Lease dropped = Grant();
  const Lease kept = Grant();
  ASSERT_TRUE(client_->Put("/lease/dropped", "x", dropped.id).ok());
  ASSERT_TRUE(client_->Put("/lease/kept", "x", kept.id).ok());
  std::atomic<int> losses{0};
  auto keeper = client_->KeepAlive(kept, [&](const absl::Status&) { ++losses; });

  ASSERT_TRUE(WaitUntil([&] { return !Exists("/lease/dropped"); }));
  // The kept key outlives two more TTLs.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < until) {
    ASSERT_TRUE(Exists("/lease/kept"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(losses, 0);
  EXPECT_FALSE(keeper->lost());
  EXPECT_GT(keeper->expires_at(), absl::Now());

  keeper.reset();  // stop renewing: the key goes with the lease
  EXPECT_TRUE(WaitUntil([&] { return !Exists("/lease/kept"); }));
}

TEST_F(EtcdClientTest, LeaseKeeperReportsARevokedLease) {
  const Lease lease = Grant();
  std::mutex mu;
  std::optional<absl::Status> lost;
  auto keeper = client_->KeepAlive(lease, [&](const absl::Status& status) {
    std::lock_guard lock(mu);
    lost = status;
  });
  ASSERT_TRUE(client_->RevokeLease(lease.id).ok());
  ASSERT_TRUE(WaitUntil([&] { return keeper->lost(); }, std::chrono::seconds(3)));
  std::lock_guard lock(mu);
  ASSERT_TRUE(lost.has_value());
  EXPECT_EQ(lost->code(), absl::StatusCode::kNotFound) << *lost;
  EXPECT_EQ(client_->RevokeLease(lease.id).code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdClientTest, ElectionFailsOverWhenTheLeaderLeaseEnds) {
  const Lease lease_a = Grant();
  const Lease lease_b = Grant();
  auto keep_a = client_->KeepAlive(lease_a, nullptr);
  auto keep_b = client_->KeepAlive(lease_b, nullptr);
  EXPECT_EQ(client_->Leader("/e").status().code(), absl::StatusCode::kNotFound);

  absl::StatusOr<LeaderKey> a = client_->Campaign("/e", lease_a.id, "node-a", absl::Seconds(5));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->lease, lease_a.id);
  Campaigner b(*client_, "/e", lease_b.id, "node-b");
  ASSERT_TRUE(WaitUntil([&] { return Campaigners("/e") == 2; }));
  EXPECT_FALSE(b.done());  // both keys exist: a's is older, so b waits
  absl::StatusOr<KeyValue> leader = client_->Leader("/e");
  ASSERT_TRUE(leader.ok()) << leader.status();
  EXPECT_EQ(leader->value, "node-a");
  EXPECT_EQ(leader->key, a->key);
  EXPECT_EQ(leader->create_revision, a->rev);

  keep_a.reset();
  ASSERT_TRUE(client_->RevokeLease(lease_a.id).ok());  // as if a's lease expired
  absl::StatusOr<LeaderKey> b_key = b.Result();
  ASSERT_TRUE(b_key.ok()) << b_key.status();
  EXPECT_GT(b_key->rev, a->rev);  // a new fencing token
  EXPECT_EQ(client_->Leader("/e")->value, "node-b");

  ASSERT_TRUE(client_->Resign(*b_key).ok());
  EXPECT_EQ(client_->Leader("/e").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(EtcdClientTest, CampaignTimesOutAndCanBeCancelled) {
  const Lease lease_a = Grant();
  const Lease lease_b = Grant();
  const Lease lease_c = Grant();
  auto keep_a = client_->KeepAlive(lease_a, nullptr);
  auto keep_b = client_->KeepAlive(lease_b, nullptr);
  auto keep_c = client_->KeepAlive(lease_c, nullptr);
  ASSERT_TRUE(client_->Campaign("/e", lease_a.id, "a", absl::Seconds(5)).ok());

  EXPECT_EQ(client_->Campaign("/e", lease_b.id, "b", absl::Milliseconds(300)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  Canceller cancel;
  Campaigner c(*client_, "/e", lease_c.id, "c", &cancel);
  ASSERT_TRUE(WaitUntil([&] { return Exists(CampaignKey("/e", lease_c.id)); }));
  cancel.Cancel();
  EXPECT_EQ(c.Result().status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(client_->Leader("/e")->value, "a");

  // etcd usually withdraws the key of a campaign that timed out or was cancelled, but not when
  // the campaign ended before it waited: the key goes with its lease.
  keep_b.reset();
  keep_c.reset();
  ASSERT_TRUE(client_->RevokeLease(lease_b.id).ok());
  ASSERT_TRUE(client_->RevokeLease(lease_c.id).ok());
  EXPECT_EQ(Campaigners("/e"), 1u);
  EXPECT_EQ(client_->Leader("/e")->value, "a");
}

TEST_F(EtcdClientTest, FencingRejectsADeposedLeader) {
  const Lease lease_a = Grant();
  const Lease lease_b = Grant();
  auto keep_a = client_->KeepAlive(lease_a, nullptr);
  auto keep_b = client_->KeepAlive(lease_b, nullptr);
  absl::StatusOr<LeaderKey> a = client_->Campaign("/e", lease_a.id, "a", absl::Seconds(5));
  ASSERT_TRUE(a.ok()) << a.status();
  Campaigner b(*client_, "/e", lease_b.id, "b");
  absl::StatusOr<TxnResult> first =
      client_->FencedTxn(*a, {Compare::VersionEquals("/seq", 0)}, {TxnOp::Put("/seq", "1")});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->succeeded);

  // a "pauses": its keepalive stops, its lease expires, b takes over.
  keep_a.reset();
  absl::StatusOr<LeaderKey> b_key = b.Result();
  ASSERT_TRUE(b_key.ok()) << b_key.status();

  // a's next commit would pass its own compare, but the fence rejects it.
  const std::vector<Compare> seq_is_1 = {Compare::ValueEquals("/seq", "1")};
  absl::StatusOr<TxnResult> late = client_->FencedTxn(*a, seq_is_1, {TxnOp::Put("/seq", "2a")});
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_FALSE(late->succeeded);
  absl::StatusOr<TxnResult> next = client_->FencedTxn(*b_key, seq_is_1, {TxnOp::Put("/seq", "2")});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->succeeded);
  EXPECT_EQ(client_->Get("/seq")->value, "2");

  // When a resumes, its keeper learns the lease is gone.
  std::atomic<bool> lost{false};
  auto resumed = client_->KeepAlive(lease_a, [&](const absl::Status& status) {
    lost = status.code() == absl::StatusCode::kNotFound;
  });
  EXPECT_TRUE(WaitUntil([&] { return lost.load(); }, std::chrono::seconds(3)));
}

TEST_F(EtcdClientTest, WatchDeliversEventsInRevisionOrderFromARevision) {
  ASSERT_TRUE(client_->Put("/w/a", "1").ok());
  const int64_t from = *client_->Put("/w/b", "2");
  ASSERT_TRUE(client_->Put("/x", "outside").ok());
  ASSERT_TRUE(client_->Delete("/w/a").ok());
  ASSERT_TRUE(client_->Txn({}, {TxnOp::Put("/w/c", "3"), TxnOp::Put("/w/d", "4")}).ok());

  EventLog log;
  auto watcher = client_->Watch("/w/", from, log.Callback());
  ASSERT_TRUE(WaitUntil([&] { return log.size() == 4; }));
  ASSERT_TRUE(client_->Put("/w/e", "5").ok());  // delivered live
  ASSERT_TRUE(WaitUntil([&] { return log.size() == 5; }));

  const std::vector<WatchEvent> events = log.events();
  EXPECT_THAT(events, ElementsAre(Field(&WatchEvent::key, "/w/b"), Field(&WatchEvent::key, "/w/a"),
                                  Field(&WatchEvent::key, "/w/c"), Field(&WatchEvent::key, "/w/d"),
                                  Field(&WatchEvent::key, "/w/e")));
  EXPECT_EQ(events[0].mod_revision, from);
  EXPECT_EQ(events[0].value, "2");
  EXPECT_EQ(events[1].type, Type::kDelete);
  EXPECT_EQ(events[2].mod_revision, events[3].mod_revision);  // one Txn, one revision
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_LE(events[i - 1].mod_revision, events[i].mod_revision);
  }
  EXPECT_EQ(watcher->next_revision(), events.back().mod_revision + 1);
  EXPECT_TRUE(watcher->status().ok());

  // After Stop, nothing more arrives (a second watch shows the later put was made).
  watcher->Stop();
  const int64_t later = *client_->Put("/w/f", "6");
  EventLog second;
  auto check = client_->Watch("/w/", later, second.Callback());
  ASSERT_TRUE(WaitUntil([&] { return second.size() == 1; }));
  EXPECT_EQ(log.size(), 5u);
}

TEST_F(EtcdClientTest, WatchFromACompactedRevisionReportsCompaction) {
  std::vector<int64_t> revisions;
  for (int i = 0; i < 5; ++i) revisions.push_back(*client_->Put("/c/k", std::to_string(i)));
  ASSERT_TRUE(client_->Compact(revisions[3]).ok());
  EXPECT_EQ(client_->Compact(revisions[2]).code(), absl::StatusCode::kOutOfRange);

  EventLog old_log;
  auto old_watch = client_->Watch("/c/", revisions[1], old_log.Callback());
  ASSERT_TRUE(WaitUntil([&] { return old_log.size() == 1; }));
  EXPECT_EQ(old_log.events()[0].type, Type::kCompacted);
  EXPECT_EQ(old_log.events()[0].mod_revision, revisions[3]);
  EXPECT_TRUE(WaitUntil([&] { return !old_watch->status().ok(); }));
  EXPECT_EQ(old_watch->status().code(), absl::StatusCode::kOutOfRange);

  EventLog log;  // from the compaction revision on, history is there
  auto watch = client_->Watch("/c/", revisions[3], log.Callback());
  ASSERT_TRUE(WaitUntil([&] { return log.size() == 2; }));
  EXPECT_EQ(log.events()[0].mod_revision, revisions[3]);
  EXPECT_EQ(log.events()[1].value, "4");
}

TEST_F(EtcdClientTest, KeepsWorkingWhenAMemberIsKilled) {
  const int64_t first = *client_->Put("/k/1", "1");
  EventLog log;
  auto watcher = client_->Watch("/k/", first, log.Callback());
  ASSERT_TRUE(WaitUntil([&] { return log.size() == 1; }));
  ASSERT_EQ(client_->current_endpoint(), cluster_.endpoint(0));

  cluster_.Kill(0);  // the member the client and the watch use
  absl::StatusOr<int64_t> put = client_->Put("/k/2", "2");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_NE(client_->current_endpoint(), cluster_.endpoint(0));
  EXPECT_EQ(client_->Get("/k/1")->value, "1");
  EXPECT_TRUE(
      client_->Txn({Compare::ValueEquals("/k/2", "2")}, {TxnOp::Put("/k/3", "3")})->succeeded);
  ASSERT_TRUE(WaitUntil([&] { return log.size() == 3; }));  // resumed on another member
  EXPECT_EQ(log.events()[1].mod_revision, *put);
  EXPECT_EQ(log.events()[2].key, "/k/3");

  ASSERT_TRUE(cluster_.Restart(0)) << cluster_.error();
  EXPECT_EQ(client_->GetPrefix("/k/", 0)->kvs.size(), 3u);
}

TEST_F(EtcdClientTest, KeepsWorkingWhenAMemberIsPaused) {
  auto client = NewClient(absl::Milliseconds(300));  // a paused member costs one attempt
  ASSERT_TRUE(client->Put("/s/1", "1").ok());
  cluster_.Pause(0);
  absl::StatusOr<int64_t> put = client->Put("/s/2", "2");
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_NE(client->current_endpoint(), cluster_.endpoint(0));
  EXPECT_EQ(client->GetPrefix("/s/", 0)->kvs.size(), 2u);
  cluster_.Resume(0);
  EXPECT_TRUE(cluster_.WaitHealthy(0, std::chrono::seconds(10))) << cluster_.error();
}

}  // namespace
}  // namespace lodestone::replication
