// GroupCommitter: concurrency, per-request rollback, limits, back-pressure, shutdown. The
// committer is held up by a stage function that blocks on a notification the test controls.
#include "storage/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "storage/merkle.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

using testing::MakeRecord;
using testing::TempDir;
using testing::TestOptions;

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(dir_));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  static GroupCommitter::StageFn AppendIds(std::vector<std::string> ids,
                                           std::string subject = "s") {
    return [ids = std::move(ids), subject](Txn& txn) -> absl::Status {
      for (const std::string& id : ids) {
        absl::StatusOr<std::pair<uint64_t, uint64_t>> appended =
            txn.Append(MakeRecord(id, subject, "payload " + id));
        if (!appended.ok()) return appended.status();
      }
      return absl::OkStatus();
    };
  }

  // A request that appends `id`, tells `started` and then waits for `release`.
  static GroupCommitter::StageFn Blocker(std::string id, absl::Notification* started,
                                         absl::Notification* release) {
    return [id = std::move(id), started, release](Txn& txn) -> absl::Status {
      absl::Status status = txn.Append(MakeRecord(id, "blocker", "")).status();
      started->Notify();
      release->WaitForNotification();
      return status;
    };
  }

  std::vector<std::string> CommittedIds() {
    std::vector<std::string> ids;
    absl::StatusOr<std::vector<Record>> records = log_->ReadAll(0, 1 << 20, size_t{1} << 30);
    EXPECT_TRUE(records.ok()) << records.status();
    for (const Record& record : *records) ids.push_back(record.event_id);
    return ids;
  }

  TempDir dir_;
  std::unique_ptr<Log> log_;
};

TEST_F(GroupCommitTest, ConcurrentSubmittersEachAcknowledgedRecordCommittedOnceInOrder) {
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 150;
  GroupCommitOptions options;
  options.max_group_requests = 16;
  GroupCommitter committer(*log_, options);
  std::mutex mu;
  std::map<std::string, absl::Status> acknowledged;
  absl::BlockingCounter pending(kThreads * kRequestsPerThread);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequestsPerThread; ++i) {
        std::vector<std::string> ids;
        for (int r = 0; r <= i % 3; ++r) ids.push_back(absl::StrCat("t", t, "-", i, "-", r));
        const std::string first = ids.front();
        absl::Status submitted;
        do {  // back-pressure: retry while the queue is full
          submitted = committer.Submit(AppendIds(ids, absl::StrCat("thread", t)),
                                       [&, first](absl::Status status) {
                                         {
                                           std::lock_guard<std::mutex> lock(mu);
                                           acknowledged[first] = status;
                                         }
                                         pending.DecrementCount();
                                       });
          if (!submitted.ok()) std::this_thread::yield();
        } while (absl::IsResourceExhausted(submitted));
        ASSERT_TRUE(submitted.ok()) << submitted;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  pending.Wait();
  committer.Stop();

  for (const auto& [id, status] : acknowledged) EXPECT_TRUE(status.ok()) << id << status;
  const std::vector<std::string> ids = CommittedIds();
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * (50 * (1 + 2 + 3))));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());  // once each
  // Each thread's requests were committed in the order it submitted them.
  std::map<int, std::pair<int, int>> last_seen;  // thread -> (request, record)
  for (const std::string& id : ids) {
    int t = 0, i = 0, r = 0;
    ASSERT_EQ(std::sscanf(id.c_str(), "t%d-%d-%d", &t, &i, &r), 3) << id;
    auto it = last_seen.find(t);
    if (it != last_seen.end()) {
      EXPECT_LT(it->second, std::make_pair(i, r)) << id;
    }
    last_seen[t] = {i, r};
  }
  const GroupCommitter::Stats stats = committer.GetStats();
  EXPECT_EQ(stats.requests, static_cast<uint64_t>(kThreads * kRequestsPerThread));
  EXPECT_LE(stats.groups, stats.requests);
  EXPECT_EQ(stats.queue_depth, 0u);
  EXPECT_TRUE(log_->Verify().ok());
}

TEST_F(GroupCommitTest, RejectedRequestLeavesNoTraceWhileItsGroupMatesCommit) {
  GroupCommitter committer(*log_, GroupCommitOptions());
  std::vector<std::pair<size_t, size_t>> groups;
  committer.SetGroupListener([&](size_t requests, size_t records, absl::Duration) {
    groups.emplace_back(requests, records);
  });
  absl::Notification started, release, all_done;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();

  std::vector<std::string> order;
  std::mutex mu;
  absl::Status rejected_status;
  auto done = [&](std::string name) {
    return [&, name](absl::Status status) {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(name);
      if (name == "c") rejected_status = status;
      if (name == "d") {
        EXPECT_TRUE(status.ok());
        all_done.Notify();
      }
    };
  };
  ASSERT_TRUE(committer.Submit(AppendIds({"b1", "b2"}), done("b")).ok());
  ASSERT_TRUE(committer
                  .Submit(
                      [](Txn& txn) -> absl::Status {
                        absl::Status status = txn.Append(MakeRecord("c1", "s", "")).status();
                        if (!status.ok()) return status;
                        txn.PutState("c-state", "should vanish");
                        return absl::AbortedError("wrong expected version");
                      },
                      done("c"))
                  .ok());
  ASSERT_TRUE(committer.Submit(AppendIds({"d1"}), done("d")).ok());
  release.Notify();
  all_done.WaitForNotification();
  committer.Stop();

  EXPECT_EQ(rejected_status.code(), absl::StatusCode::kAborted);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(CommittedIds(), (std::vector<std::string>{"a", "b1", "b2", "d1"}));
  EXPECT_FALSE(log_->FindEventId("c1")->has_value());
  EXPECT_FALSE(log_->GetState("c-state")->has_value());
  EXPECT_EQ(*log_->StreamVersion("s"), 3u);
  ASSERT_EQ(groups.size(), 1u);  // one commit for all four requests
  EXPECT_EQ(groups[0], std::make_pair(size_t{4}, size_t{4}));
  EXPECT_EQ(committer.GetStats().groups, 1u);
}

TEST_F(GroupCommitTest, FullQueueIsResourceExhaustedAndDoneIsNotCalled) {
  GroupCommitOptions options;
  options.max_queue_requests = 2;
  GroupCommitter committer(*log_, options);
  absl::Notification started, release;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();  // dequeued: the queue is empty again
  std::atomic<int> done_calls{0};
  auto done = [&](absl::Status status) {
    EXPECT_TRUE(status.ok());
    ++done_calls;
  };
  ASSERT_TRUE(committer.Submit(AppendIds({"b"}), done).ok());
  ASSERT_TRUE(committer.Submit(AppendIds({"c"}), done).ok());
  EXPECT_EQ(committer.GetStats().queue_depth, 2u);
  const absl::Status full = committer.Submit(AppendIds({"x"}), done);
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  release.Notify();
  committer.Stop();
  EXPECT_EQ(done_calls.load(), 2);
  EXPECT_EQ(CommittedIds(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(GroupCommitTest, StopDrainsEverythingQueuedThenRefusesWithUnavailable) {
  GroupCommitter committer(*log_, GroupCommitOptions());
  absl::Notification started, release;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();
  std::atomic<int> ok_calls{0};
  int submitted = 0;
  for (; submitted < 20; ++submitted) {
    ASSERT_TRUE(committer
                    .Submit(AppendIds({"q" + std::to_string(submitted)}),
                            [&](absl::Status status) {
                              if (status.ok()) ++ok_calls;
                            })
                    .ok());
  }
  std::thread stopper([&] { committer.Stop(); });
  // Once Submit is refused, Stop has begun; requests accepted until then must still commit.
  for (;;) {
    absl::Status status =
        committer.Submit(AppendIds({"late" + std::to_string(submitted)}), [&](absl::Status s) {
          if (s.ok()) ++ok_calls;
        });
    if (absl::IsUnavailable(status)) break;
    EXPECT_TRUE(status.ok() || absl::IsResourceExhausted(status)) << status;
    if (status.ok()) ++submitted;
    std::this_thread::yield();
  }
  release.Notify();
  stopper.join();
  EXPECT_EQ(ok_calls.load(), submitted);
  EXPECT_EQ(CommittedIds().size(), static_cast<size_t>(submitted) + 1);
  EXPECT_EQ(committer.Submit(AppendIds({"after"}), [](absl::Status) {}).code(),
            absl::StatusCode::kUnavailable);
  committer.Stop();  // idempotent
}

TEST_F(GroupCommitTest, RecordLimitEndsAGroupButNeverSplitsARequest) {
  GroupCommitOptions options;
  options.max_group_records = 5;
  GroupCommitter committer(*log_, options);
  std::vector<std::pair<size_t, size_t>> groups;
  committer.SetGroupListener([&](size_t requests, size_t records, absl::Duration) {
    groups.emplace_back(requests, records);
  });
  absl::Notification started, release;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();
  auto ids = [](const std::string& prefix, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
    return out;
  };
  absl::BlockingCounter pending(4);
  auto done = [&](absl::Status status) {
    EXPECT_TRUE(status.ok()) << status;
    pending.DecrementCount();
  };
  ASSERT_TRUE(committer.Submit(AppendIds(ids("r1-", 3)), done).ok());
  ASSERT_TRUE(committer.Submit(AppendIds(ids("r2-", 3)), done).ok());
  ASSERT_TRUE(committer.Submit(AppendIds(ids("big-", 12)), done).ok());
  ASSERT_TRUE(committer.Submit(AppendIds(ids("r4-", 3)), done).ok());
  release.Notify();
  pending.Wait();
  committer.Stop();
  // 1 + 3 < 5, 1 + 3 + 3 >= 5: stop; the 12-record request alone; then the last one.
  EXPECT_EQ(groups, (std::vector<std::pair<size_t, size_t>>{{3, 7}, {1, 12}, {1, 3}}));
  EXPECT_EQ(committer.GetStats().groups, 3u);
}

TEST_F(GroupCommitTest, RequestLimitEndsAGroup) {
  GroupCommitOptions options;
  options.max_group_requests = 2;
  GroupCommitter committer(*log_, options);
  std::vector<size_t> group_requests;
  committer.SetGroupListener(
      [&](size_t requests, size_t, absl::Duration) { group_requests.push_back(requests); });
  absl::Notification started, release;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(committer.Submit(AppendIds({"e" + std::to_string(i)}), [](absl::Status) {}).ok());
  }
  release.Notify();
  committer.Stop();
  EXPECT_EQ(group_requests, (std::vector<size_t>{2, 2, 1}));
}

TEST_F(GroupCommitTest, ByteLimitEndsAGroup) {
  GroupCommitOptions options;
  options.max_group_bytes = 26;  // two records of 13 bytes (id "e0", subject "s", "payload e0")
  GroupCommitter committer(*log_, options);
  std::vector<std::pair<size_t, size_t>> groups;
  committer.SetGroupListener([&](size_t requests, size_t records, absl::Duration) {
    groups.emplace_back(requests, records);
  });
  absl::Notification started, release;
  ASSERT_TRUE(committer.Submit(Blocker("a", &started, &release), [](absl::Status) {}).ok());
  started.WaitForNotification();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(committer.Submit(AppendIds({"e" + std::to_string(i)}), [](absl::Status) {}).ok());
  }
  release.Notify();
  committer.Stop();
  // The blocker's record is 8 bytes: 8 + 13 < 26 takes e1 too (34); then two by two.
  EXPECT_EQ(groups, (std::vector<std::pair<size_t, size_t>>{{3, 3}, {2, 2}, {1, 1}}));
}

// Delegates to a real Log but fails every Commit, as a full disk would.
class FailingCommitLog : public Log {
 public:
  explicit FailingCommitLog(Log& log) : log_(log) {}
  std::unique_ptr<Txn> BeginTxn() override { return log_.BeginTxn(); }
  absl::Status Commit(Txn&, absl::Time) override { return absl::UnavailableError("disk on fire"); }
  Head GetHead() const override { return log_.GetHead(); }
  absl::Status WriteFailure() const override { return absl::UnavailableError("disk on fire"); }
  absl::StatusOr<std::vector<Record>> ReadAll(uint64_t from, size_t n, size_t b) const override {
    return log_.ReadAll(from, n, b);
  }
  absl::StatusOr<std::vector<Record>> ReadStream(std::string_view s, uint64_t v, size_t n,
                                                 size_t b) const override {
    return log_.ReadStream(s, v, n, b);
  }
  absl::StatusOr<Record> ReadRecord(uint64_t p) const override { return log_.ReadRecord(p); }
  absl::StatusOr<uint64_t> StreamVersion(std::string_view s) const override {
    return log_.StreamVersion(s);
  }
  absl::StatusOr<std::optional<uint64_t>> FindEventId(std::string_view id) const override {
    return log_.FindEventId(id);
  }
  absl::StatusOr<std::optional<std::string>> GetState(std::string_view k) const override {
    return log_.GetState(k);
  }
  absl::StatusOr<std::string> LeafData(uint64_t p) const override { return log_.LeafData(p); }
  absl::StatusOr<Hash> RootAt(uint64_t n) const override { return log_.RootAt(n); }
  absl::StatusOr<merkle::Frontier> FrontierAt(uint64_t n) const override {
    return log_.FrontierAt(n);
  }
  absl::StatusOr<std::vector<Hash>> InclusionProof(uint64_t p, uint64_t n) const override {
    return log_.InclusionProof(p, n);
  }
  absl::StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t a, uint64_t b) const override {
    return log_.ConsistencyProof(a, b);
  }
  absl::Status Verify(uint64_t from) const override { return log_.Verify(from); }
  void SetCommitListener(std::function<void(const Head&)> l) override {
    log_.SetCommitListener(std::move(l));
  }
  Stats GetStats() const override { return log_.GetStats(); }

 private:
  Log& log_;
};

TEST_F(GroupCommitTest, FailedCommitFailsEveryAcceptedRequestOfTheGroup) {
  FailingCommitLog failing(*log_);
  GroupCommitter committer(failing, GroupCommitOptions());
  std::vector<std::pair<size_t, size_t>> groups;
  committer.SetGroupListener([&](size_t requests, size_t records, absl::Duration) {
    groups.emplace_back(requests, records);
  });
  absl::Notification started, release;
  absl::Status blocker_status;
  ASSERT_TRUE(committer
                  .Submit(Blocker("a", &started, &release),
                          [&](absl::Status status) { blocker_status = status; })
                  .ok());
  started.WaitForNotification();
  std::vector<absl::Status> statuses(3);
  ASSERT_TRUE(committer.Submit(AppendIds({"b"}), [&](absl::Status s) { statuses[0] = s; }).ok());
  ASSERT_TRUE(committer
                  .Submit([](Txn&) { return absl::InvalidArgumentError("bad request"); },
                          [&](absl::Status s) { statuses[1] = s; })
                  .ok());
  ASSERT_TRUE(committer.Submit(AppendIds({"c"}), [&](absl::Status s) { statuses[2] = s; }).ok());
  release.Notify();
  committer.Stop();
  EXPECT_EQ(blocker_status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(statuses[1].code(), absl::StatusCode::kInvalidArgument);  // its own rejection
  EXPECT_EQ(statuses[2].code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(log_->GetHead().size, 0u);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0], std::make_pair(size_t{4}, size_t{0}));
}

TEST_F(GroupCommitTest, ClockStampsEveryRecordOfTheGroup) {
  GroupCommitOptions options;
  const absl::Time fixed = absl::FromUnixMicros(1'750'000'000'123'456);
  options.clock = [fixed] { return fixed; };
  GroupCommitter committer(*log_, options);
  absl::Notification done;
  ASSERT_TRUE(committer.Submit(AppendIds({"x", "y"}), [&](absl::Status) { done.Notify(); }).ok());
  done.WaitForNotification();
  committer.Stop();
  EXPECT_EQ(log_->ReadRecord(1)->commit_time, fixed);
  EXPECT_EQ(log_->GetHead().time, fixed);
}

TEST_F(GroupCommitTest, CommitTimesNeverGoBackWhenTheClockDoes) {
  GroupCommitOptions options;
  const absl::Time later = absl::FromUnixMicros(1'750'000'000'000'000);
  absl::Time now = later;
  options.clock = [&now] { return now; };
  GroupCommitter committer(*log_, options);
  auto commit = [&](std::vector<std::string> ids) {
    absl::Notification done;
    ASSERT_TRUE(
        committer.Submit(AppendIds(std::move(ids)), [&](absl::Status) { done.Notify(); }).ok());
    done.WaitForNotification();
  };
  commit({"a"});
  now = later - absl::Hours(1);  // the clock steps back
  commit({"b"});
  now = later + absl::Seconds(1);
  commit({"c"});
  committer.Stop();
  EXPECT_EQ(log_->ReadRecord(0)->commit_time, later);
  EXPECT_EQ(log_->ReadRecord(1)->commit_time, later);  // not an hour earlier
  EXPECT_EQ(log_->ReadRecord(2)->commit_time, later + absl::Seconds(1));
}

TEST_F(GroupCommitTest, StagingSeesTheCommitTimeItsRecordsAreStampedWith) {
  GroupCommitOptions options;
  absl::Time now = absl::FromUnixMicros(1'750'000'000'000'000) + absl::Nanoseconds(700);
  options.clock = [&now] { return now; };
  GroupCommitter committer(*log_, options);
  absl::Time seen = absl::InfinitePast();
  absl::Notification done;
  ASSERT_TRUE(committer
                  .Submit(
                      [&](Txn& txn) {
                        seen = txn.commit_time();
                        now += absl::Seconds(5);  // the clock moves on while the group stages
                        return txn.Append(MakeRecord("x", "s", "")).status();
                      },
                      [&](absl::Status) { done.Notify(); })
                  .ok());
  done.WaitForNotification();
  // A follower's batch is stamped with its leader's time, also before staging.
  const absl::Time leader_time = absl::FromUnixMicros(1'760'000'000'000'000);
  absl::Time seen_fixed = absl::InfinitePast();
  absl::Notification fixed_done;
  ASSERT_TRUE(committer
                  .SubmitAt(
                      leader_time,
                      [&](Txn& txn) {
                        seen_fixed = txn.commit_time();
                        return txn.Append(MakeRecord("y", "s", "")).status();
                      },
                      [&](absl::Status) { fixed_done.Notify(); })
                  .ok());
  fixed_done.WaitForNotification();
  committer.Stop();
  EXPECT_EQ(seen, absl::FromUnixMicros(1'750'000'000'000'000));  // whole microseconds
  EXPECT_EQ(log_->ReadRecord(0)->commit_time, seen);
  EXPECT_EQ(seen_fixed, leader_time);
  EXPECT_EQ(log_->ReadRecord(1)->commit_time, leader_time);
}

}  // namespace
}  // namespace lodestone::storage
