// Merkle proofs checked by an independent verifier: its own SHA-256 calls, its own encoding of
// the leaf bytes from FORMAT.md, a naive recursive MTH over all leaves, and the RFC 9162
// (section 2.1.3.2 and 2.1.4.2) verification algorithms. Nothing here reuses storage/merkle.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "storage/log.h"
#include "storage/merkle.h"
#include "tests/storage/test_util.h"

namespace lodestone::storage {
namespace {

using testing::MakeRecord;
using testing::TempDir;
using testing::TestOptions;
using testing::TestTime;

// ------------------------------------------------------------------ the independent verifier

Hash Sha(const std::string& bytes) {
  Hash out{};
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), out.data());
  return out;
}

std::string Bytes(const Hash& hash) { return std::string(hash.begin(), hash.end()); }

Hash VerifierLeafHash(const std::string& leaf) { return Sha(std::string(1, '\0') + leaf); }

Hash VerifierNodeHash(const Hash& left, const Hash& right) {
  return Sha(std::string(1, '\1') + Bytes(left) + Bytes(right));
}

// FORMAT.md "Leaf bytes", written from the prose.
std::string VerifierLeafBytes(const Record& record) {
  std::string out(1, '\x01');
  auto be64 = [&](uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  };
  auto be32_field = [&](const std::string& field) {
    const uint32_t n = static_cast<uint32_t>(field.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
    out += field;
  };
  be64(record.position);
  be64(static_cast<uint64_t>(absl::ToUnixMicros(record.commit_time)));
  be64(record.stream_version);
  be32_field(record.event_id);
  be32_field(record.subject);
  be32_field(record.payload);
  return out;
}

// RFC 6962 MTH, straight from the definition.
Hash NaiveRoot(const std::vector<Hash>& leaves, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Sha("");
  if (n == 1) return leaves[begin];
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return VerifierNodeHash(NaiveRoot(leaves, begin, begin + k), NaiveRoot(leaves, begin + k, end));
}

// RFC 9162 section 2.1.3.2.
bool VerifyInclusion(uint64_t leaf_index, uint64_t tree_size, const Hash& leaf_hash,
                     const std::vector<Hash>& proof, const Hash& root) {
  if (leaf_index >= tree_size) return false;
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = VerifierNodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = VerifierNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

// RFC 9162 section 2.1.4.2.
bool VerifyConsistency(uint64_t first, uint64_t second, const Hash& first_hash,
                       const Hash& second_hash, std::vector<Hash> proof) {
  if (first > second) return false;
  if (first == second) return proof.empty() && first_hash == second_hash;
  if (first == 0) return proof.empty();  // the empty tree is a prefix of every tree
  if ((first & (first - 1)) == 0) proof.insert(proof.begin(), first_hash);
  if (proof.empty()) return false;
  uint64_t fn = first - 1;
  uint64_t sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = proof[0];
  Hash sr = proof[0];
  for (size_t i = 1; i < proof.size(); ++i) {
    const Hash& c = proof[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = VerifierNodeHash(c, fr);
      sr = VerifierNodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = VerifierNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_hash && sr == second_hash && sn == 0;
}

// ------------------------------------------------------------------ fixture

class ProofTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kLeaves = 3000;

  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(*dir_));
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    // Groups of random sizes, so subtree completions straddle commit boundaries.
    std::mt19937_64 rng(42);
    uint64_t appended = 0;
    int group = 0;
    while (appended < kLeaves) {
      const uint64_t n = std::min<uint64_t>(kLeaves - appended, 1 + rng() % 40);
      std::vector<RecordInput> records;
      for (uint64_t i = 0; i < n; ++i, ++appended) {
        records.push_back(MakeRecord("id-" + std::to_string(appended),
                                     "subject-" + std::to_string(rng() % 17),
                                     std::string(rng() % 64, static_cast<char>('a' + rng() % 26))));
      }
      ASSERT_TRUE(testing::AppendGroup(*log_, records, TestTime(group++)).ok());
    }
    // The verifier's leaf hashes: from LeafData, cross-checked against its own encoding.
    absl::StatusOr<std::vector<Record>> records = log_->ReadAll(0, kLeaves, size_t{1} << 30);
    ASSERT_TRUE(records.ok());
    ASSERT_EQ(records->size(), kLeaves);
    Hash chain{};
    for (const Record& record : *records) {
      absl::StatusOr<std::string> leaf = log_->LeafData(record.position);
      ASSERT_TRUE(leaf.ok());
      ASSERT_EQ(*leaf, VerifierLeafBytes(record)) << "FORMAT.md leaf bytes at " << record.position;
      leaves_.push_back(VerifierLeafHash(*leaf));
      chain = Sha(Bytes(chain) + Bytes(leaves_.back()));
      ASSERT_EQ(chain, record.chain) << "chain at " << record.position;
    }
    ASSERT_EQ(chain, log_->GetHead().chain);
  }

  Hash Root(uint64_t size) {
    auto it = roots_.find(size);
    if (it != roots_.end()) return it->second;
    return roots_[size] = NaiveRoot(leaves_, 0, size);
  }

  void CheckInclusion(uint64_t index, uint64_t size) {
    absl::StatusOr<std::vector<Hash>> proof = log_->InclusionProof(index, size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyInclusion(index, size, leaves_[index], *proof, Root(size)))
        << "inclusion of " << index << " in " << size;
    // The production verifier (lodectl, peer catch-up) agrees with the independent one.
    EXPECT_TRUE(merkle::VerifyInclusion(index, size, leaves_[index], *proof, Root(size)))
        << "production verifier: inclusion of " << index << " in " << size;
  }

  void CheckConsistency(uint64_t first, uint64_t second) {
    absl::StatusOr<std::vector<Hash>> proof = log_->ConsistencyProof(first, second);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_TRUE(VerifyConsistency(first, second, Root(first), Root(second), *proof))
        << "consistency of " << first << " with " << second;
    EXPECT_TRUE(merkle::VerifyConsistency(first, second, Root(first), Root(second), *proof))
        << "production verifier: consistency of " << first << " with " << second;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Log> log_;
  std::vector<Hash> leaves_;
  std::map<uint64_t, Hash> roots_;
};

TEST_F(ProofTest, FrontiersAtEverySizeGiveTheRootAndExtendLikeTheLog) {
  for (uint64_t size = 0; size <= 70; ++size) {
    auto frontier = log_->FrontierAt(size);
    ASSERT_TRUE(frontier.ok()) << frontier.status();
    EXPECT_EQ(frontier->size(), size);
    EXPECT_EQ(frontier->Root(), size == 0 ? Sha("") : Root(size)) << size;
    // Extended with the next leaves it reaches the roots of larger trees.
    merkle::Frontier extended = *frontier;
    for (uint64_t next = size; next < std::min<uint64_t>(size + 5, kLeaves); ++next) {
      extended.Append(LeafHash(*log_->LeafData(next)));
      EXPECT_EQ(extended.Root(), Root(next + 1)) << size << " + " << (next + 1 - size);
    }
  }
  EXPECT_EQ(log_->FrontierAt(kLeaves + 1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(ProofTest, HeadAndHistoricalRootsMatchNaiveTreeHash) {
  EXPECT_EQ(log_->GetHead().root, Root(kLeaves));
  EXPECT_EQ(*log_->RootAt(0), Sha(""));
  for (uint64_t size = 1; size <= 70; ++size) {
    EXPECT_EQ(*log_->RootAt(size), Root(size)) << size;
  }
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100; ++i) {
    const uint64_t size = 1 + rng() % kLeaves;
    EXPECT_EQ(*log_->RootAt(size), Root(size)) << size;
  }
}

TEST_F(ProofTest, EveryInclusionProofInSmallTreesVerifies) {
  for (uint64_t size = 1; size <= 70; ++size) {
    for (uint64_t index = 0; index < size; ++index) CheckInclusion(index, size);
  }
}

TEST_F(ProofTest, EveryConsistencyProofBetweenSmallTreesVerifies) {
  for (uint64_t second = 1; second <= 70; ++second) {
    for (uint64_t first = 0; first <= second; ++first) CheckConsistency(first, second);
  }
}

TEST_F(ProofTest, RandomProofsInLargeTreesVerify) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 300; ++i) {
    const uint64_t size = 1 + rng() % kLeaves;
    CheckInclusion(rng() % size, size);
    const uint64_t first = rng() % (size + 1);
    CheckConsistency(first, size);
  }
  CheckInclusion(kLeaves - 1, kLeaves);
  CheckInclusion(0, kLeaves);
  CheckConsistency(2048, kLeaves);
  CheckConsistency(kLeaves - 1, kLeaves);
}

TEST_F(ProofTest, TamperedProofsFailVerification) {
  std::mt19937_64 rng(13);
  for (int i = 0; i < 100; ++i) {
    const uint64_t size = 2 + rng() % (kLeaves - 1);
    const uint64_t index = rng() % size;
    std::vector<Hash> proof = *log_->InclusionProof(index, size);
    ASSERT_FALSE(proof.empty());
    ASSERT_TRUE(VerifyInclusion(index, size, leaves_[index], proof, Root(size)));
    EXPECT_FALSE(VerifyInclusion((index + 1) % size, size, leaves_[index], proof, Root(size)));
    EXPECT_FALSE(VerifyInclusion(index, size, leaves_[(index + 1) % size], proof, Root(size)));
    std::vector<Hash> flipped = proof;
    flipped[rng() % flipped.size()][rng() % 32] ^= 0x80;
    EXPECT_FALSE(VerifyInclusion(index, size, leaves_[index], flipped, Root(size)));
    EXPECT_FALSE(merkle::VerifyInclusion(index, size, leaves_[index], flipped, Root(size)));
    EXPECT_FALSE(
        merkle::VerifyInclusion((index + 1) % size, size, leaves_[index], proof, Root(size)));
    std::vector<Hash> shortened(proof.begin(), proof.end() - 1);
    EXPECT_FALSE(VerifyInclusion(index, size, leaves_[index], shortened, Root(size)));
    EXPECT_FALSE(merkle::VerifyInclusion(index, size, leaves_[index], shortened, Root(size)));

    const uint64_t first = 1 + rng() % (size - 1);
    std::vector<Hash> consistency = *log_->ConsistencyProof(first, size);
    ASSERT_TRUE(VerifyConsistency(first, size, Root(first), Root(size), consistency));
    if (!consistency.empty()) {
      std::vector<Hash> bad = consistency;
      bad[rng() % bad.size()][rng() % 32] ^= 0x01;
      EXPECT_FALSE(VerifyConsistency(first, size, Root(first), Root(size), bad));
      EXPECT_FALSE(merkle::VerifyConsistency(first, size, Root(first), Root(size), bad));
    }
    Hash wrong_root = Root(first);
    wrong_root[0] ^= 0x01;
    EXPECT_FALSE(VerifyConsistency(first, size, wrong_root, Root(size), consistency));
    EXPECT_FALSE(merkle::VerifyConsistency(first, size, wrong_root, Root(size), consistency));
  }
}

TEST_F(ProofTest, ProofArgumentsOutsideTheTreeAreRejected) {
  EXPECT_EQ(log_->RootAt(kLeaves + 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->InclusionProof(0, kLeaves + 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log_->InclusionProof(5, 5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->InclusionProof(0, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->ConsistencyProof(10, 9).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->ConsistencyProof(1, kLeaves + 1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(log_->ConsistencyProof(0, 10)->empty());
  EXPECT_TRUE(log_->ConsistencyProof(10, 10)->empty());
  EXPECT_EQ(log_->LeafData(kLeaves).status().code(), absl::StatusCode::kOutOfRange);
}

TEST_F(ProofTest, ProofsAreIdenticalAfterReopen) {
  const std::vector<Hash> inclusion = *log_->InclusionProof(1234, 2999);
  const std::vector<Hash> consistency = *log_->ConsistencyProof(77, 2999);
  log_.reset();
  {
    // Move everything from the WAL/memtables into compacted SST files, so that proofs are
    // served from table files after the reopen.
    testing::RawDb raw(dir_->db_path());
    rocksdb::CompactRangeOptions options;
    options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    for (const char* family : {"log", "merkle", "ids", "streams"}) {
      ASSERT_TRUE(raw.db()->CompactRange(options, raw.Family(family), nullptr, nullptr).ok());
    }
  }
  absl::StatusOr<std::unique_ptr<Log>> log = Log::Open(TestOptions(*dir_));
  ASSERT_TRUE(log.ok()) << log.status();
  log_ = std::move(*log);
  EXPECT_EQ(log_->GetHead().root, Root(kLeaves));
  EXPECT_EQ(*log_->InclusionProof(1234, 2999), inclusion);
  EXPECT_EQ(*log_->ConsistencyProof(77, 2999), consistency);
  EXPECT_TRUE(log_->Verify().ok());
}

}  // namespace
}  // namespace lodestone::storage
