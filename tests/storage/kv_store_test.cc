// KvStore: atomic batches, point reads, bounded prefix scans, DeleteAll, reopen.
#include "storage/kv_store.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace lodestone::storage {
namespace {

TEST(KvStoreTest, BatchIsAppliedInOrderAndSurvivesReopen) {
  testing::TempDir dir;
  KvOptions options;
  options.path = dir.Sub("kv");
  {
    auto store = KvStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    KvBatch batch;
    batch.Put("a/1", "one");
    batch.Put("a/2", "two");
    batch.Put("b/1", "x");
    batch.Delete("b/1");  // a later op on the same key wins
    ASSERT_TRUE((*store)->Write(batch).ok());
    auto missing = (*store)->Get("b/1");
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
  }
  auto store = KvStore::Open(options);
  ASSERT_TRUE(store.ok());
  auto value = (*store)->Get("a/2");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or(""), "two");
}

TEST(KvStoreTest, ScanStaysInsideThePrefixAndHonoursLimits) {
  testing::TempDir dir;
  KvOptions options;
  options.path = dir.Sub("kv");
  auto store = KvStore::Open(options);
  ASSERT_TRUE(store.ok());
  KvBatch batch;
  for (char c = 'a'; c <= 'e'; ++c) batch.Put(std::string("p/") + c, std::string(100, c));
  batch.Put("q/a", "other prefix");
  batch.Put("p", "the prefix itself is not under p/");
  ASSERT_TRUE((*store)->Write(batch).ok());
  auto all = (*store)->Scan("p/", "", 100, 1 << 20);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().first, "p/a");
  EXPECT_EQ(all->back().first, "p/e");
  auto page = (*store)->Scan("p/", "p/c", 2, 1 << 20);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].first, "p/c");
  auto by_bytes = (*store)->Scan("p/", "", 100, 150);  // stops after the byte budget, >= 1 entry
  ASSERT_TRUE(by_bytes.ok());
  EXPECT_EQ(by_bytes->size(), 2u);
  ASSERT_TRUE((*store)->DeleteAll().ok());
  auto none = (*store)->Scan("", "", 100, 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace lodestone::storage
