// The compaction cut (docs/replication.md section 8) as a pure function: which batches etcd may
// drop, from the nodes' published progress, min_durable_copies and window_min_batches.
#include "services/replication/window_compactor.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace lodestone::replication {
namespace {

TEST(CompactionCutTest, KeepsWindowMinBatchesBelowTheDurablePoint) {
  // Durable on 2 nodes up to 5000 (the 2nd most advanced), 1000 kept: batches up to 4000 go.
  EXPECT_EQ(CompactionCut({5200, 5000, 3000}, {2, 1000}, 1, 5200), std::optional<int64_t>(4000));
  // Order of the published progress does not matter.
  EXPECT_EQ(CompactionCut({3000, 5200, 5000}, {2, 1000}, 1, 5200), std::optional<int64_t>(4000));
}

TEST(CompactionCutTest, NeedsMinDurableCopiesNodes) {
  EXPECT_EQ(CompactionCut({5000}, {2, 0}, 1, 5000), std::nullopt);
  EXPECT_EQ(CompactionCut({}, {1, 0}, 1, 5000), std::nullopt);
  EXPECT_EQ(CompactionCut({5000}, {1, 1}, 1, 5000), std::optional<int64_t>(4999));
  // With three copies required, the third most advanced node decides.
  EXPECT_EQ(CompactionCut({50, 40, 30, 20}, {3, 10}, 1, 50), std::optional<int64_t>(20));
}

TEST(CompactionCutTest, NothingBelowTheWindowStart) {
  // The cut would be 4000, but the window already starts after it.
  EXPECT_EQ(CompactionCut({5000, 5000}, {2, 1000}, 4001, 5000), std::nullopt);
  // At the window start exactly: one batch goes.
  EXPECT_EQ(CompactionCut({5000, 5000}, {2, 1000}, 4000, 5000), std::optional<int64_t>(4000));
  // Too few batches yet.
  EXPECT_EQ(CompactionCut({500, 400}, {2, 1000}, 1, 500), std::nullopt);
}

TEST(CompactionCutTest, TheNewWindowStartIsAppliedByTheLeader) {
  // The new first batch (cut + 1) anchors the window: the leader must have applied it.
  EXPECT_EQ(CompactionCut({100, 100}, {2, 0}, 1, 100), std::nullopt);  // cut 100, needs 101
  EXPECT_EQ(CompactionCut({100, 100}, {2, 0}, 1, 101), std::optional<int64_t>(100));
  EXPECT_EQ(CompactionCut({100, 100}, {2, 10}, 1, 91), std::optional<int64_t>(90));
  EXPECT_EQ(CompactionCut({100, 100}, {2, 10}, 1, 90), std::nullopt);
}

TEST(CompactionCutTest, NoWindowKeptDropsEverythingDurable) {
  EXPECT_EQ(CompactionCut({7, 9, 8}, {2, 0}, 3, 9), std::optional<int64_t>(8));
}

}  // namespace
}  // namespace lodestone::replication
