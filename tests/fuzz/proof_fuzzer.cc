// Proof verification (storage/merkle.h: VerifyInclusion, VerifyConsistency, the verifiers of
// lodectl and peer catch-up) and proof generation (InclusionPath, ConsistencyPath).
// Input (read with InputReader, little endian):
//   u8 mode (mod 4), then by mode:
//   0 genuine inclusion:   u8 n-1, u8 leaf seed, u64 index, u16 bit to flip
//   1 genuine consistency: u8 n-1, u8 leaf seed, u64 old size, u16 bit to flip
//   2 differential:        u64 a, u64 b, 32-byte x, 32-byte y, the rest: path hashes (32 each)
//   3 forgery:             u8 n-1, u8 leaf seed, u64 index, u8-prefixed leaf, the rest: path
// Tree leaves are "leaf <seed> <i>" for i < n (n <= 256).
// Invariants: the tree root is RFC 6962's (tests/support/rfc6962_verifier.h, which shares no
// code with storage/); genuine proofs verify and stop verifying when any bit of the leaf, path
// or roots flips; the production verifiers agree with the independent ones on any input; no
// proof of a leaf that is not in the tree, and no consistency proof from a tree the new tree
// does not extend, verifies.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "storage/log.h"
#include "storage/merkle.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/support/rfc6962_verifier.h"

namespace {

namespace merkle = lodestone::storage::merkle;
namespace reference = lodestone::testing;
using lodestone::storage::Hash;

constexpr size_t kMaxPathHashes = 80;  // more than any tree of 2^64 leaves needs

std::string Str(const Hash& hash) { return std::string(merkle::AsBytes(hash)); }

Hash HashOf(std::string_view bytes) {
  Hash hash{};
  for (size_t i = 0; i < hash.size() && i < bytes.size(); ++i) hash[i] = bytes[i];
  return hash;
}

std::vector<std::string> Strs(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const auto& hash : hashes) out.push_back(Str(hash));
  return out;
}

std::vector<Hash> PathFrom(lodestone::fuzz::InputReader& in) {
  std::vector<Hash> path;
  while (in.remaining() > 0 && path.size() < kMaxPathHashes) path.push_back(HashOf(in.Bytes(32)));
  return path;
}

struct Tree {
  std::vector<std::string> leaves;
  std::vector<Hash> leaf_hashes;

  Tree(size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; ++i) {
      leaves.push_back("leaf " + std::to_string(seed) + " " + std::to_string(i));
      leaf_hashes.push_back(lodestone::storage::LeafHash(leaves.back()));
      FUZZ_CHECK(Str(leaf_hashes.back()) == reference::RfcLeafHash(leaves.back()));
    }
  }
  Hash Root(size_t size) const {
    const Hash root = merkle::RangeRoot(std::span(leaf_hashes).first(size));
    FUZZ_CHECK(Str(root) == reference::NaiveRoot(leaves, 0, size));
    return root;
  }
  merkle::SubtreeHashFn Subtree() const {
    return [this](uint64_t begin, uint64_t end) -> absl::StatusOr<Hash> {
      return merkle::RangeRoot(std::span(leaf_hashes).subspan(begin, end - begin));
    };
  }
};

bool BothInclusion(uint64_t index, uint64_t size, const Hash& leaf, const std::vector<Hash>& path,
                   const Hash& root) {
  const bool ours = merkle::VerifyInclusion(index, size, leaf, path, root);
  FUZZ_CHECK(ours == reference::VerifyInclusion(index, size, Str(leaf), Strs(path), Str(root)));
  return ours;
}

bool BothConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                     const Hash& new_root, const std::vector<Hash>& path) {
  const bool ours = merkle::VerifyConsistency(old_size, new_size, old_root, new_root, path);
  FUZZ_CHECK(ours == reference::VerifyConsistency(old_size, new_size, Str(old_root), Str(new_root),
                                                  Strs(path)));
  return ours;
}

// Flips bit `bit` of the concatenation first || path || last (wrapping around).
void FlipBit(uint16_t bit, Hash& first, std::vector<Hash>& path, Hash& last) {
  const size_t hashes = path.size() + 2;
  const size_t at = bit % (hashes * 256);
  const size_t which = at / 256, byte = (at % 256) / 8;
  Hash& hash = which == 0 ? first : which == hashes - 1 ? last : path[which - 1];
  hash[byte] ^= static_cast<uint8_t>(1u << (at % 8));
}

void GenuineInclusion(lodestone::fuzz::InputReader& in) {
  const size_t n = in.Byte() + 1;
  const Tree tree(n, in.Byte());
  const uint64_t index = in.U64() % n;
  auto path = merkle::InclusionPath(index, n, tree.Subtree());
  FUZZ_CHECK(path.ok());
  Hash leaf = tree.leaf_hashes[index];
  Hash root = tree.Root(n);
  FUZZ_CHECK(BothInclusion(index, n, leaf, *path, root));
  FlipBit(in.U16(), leaf, *path, root);
  FUZZ_CHECK(!BothInclusion(index, n, leaf, *path, root));
}

void GenuineConsistency(lodestone::fuzz::InputReader& in) {
  const size_t n = in.Byte() + 1;
  const Tree tree(n, in.Byte());
  const uint64_t old_size = in.U64() % (n + 1);
  auto path = merkle::ConsistencyPath(old_size, n, tree.Subtree());
  FUZZ_CHECK(path.ok());
  Hash old_root = old_size == 0 ? Hash{} : tree.Root(old_size);
  Hash new_root = tree.Root(n);
  FUZZ_CHECK(BothConsistency(old_size, n, old_root, new_root, *path));
  if (old_size == 0) return;  // anything is consistent with the empty tree
  FlipBit(in.U16(), old_root, *path, new_root);
  FUZZ_CHECK(!BothConsistency(old_size, n, old_root, new_root, *path));
}

void Differential(lodestone::fuzz::InputReader& in) {
  const uint64_t a = in.U64(), b = in.U64();
  const Hash x = HashOf(in.Bytes(32)), y = HashOf(in.Bytes(32));
  const std::vector<Hash> path = PathFrom(in);
  BothInclusion(a, b, x, path, y);
  BothConsistency(a, b, x, y, path);
}

void Forgery(lodestone::fuzz::InputReader& in) {
  const size_t n = in.Byte() + 1;
  const Tree tree(n, in.Byte());
  const uint64_t index = in.U64() % n;
  const std::string leaf = in.ShortString();
  const std::vector<Hash> path = PathFrom(in);
  if (leaf != tree.leaves[index]) {
    FUZZ_CHECK(!BothInclusion(index, n, lodestone::storage::LeafHash(leaf), path, tree.Root(n)));
  }
  // A tree of index + 1 leaves whose last leaf differs from the new tree's.
  const size_t old_size = index + 1;
  Tree other = tree;
  other.leaves[index] += "'";
  other.leaf_hashes[index] = lodestone::storage::LeafHash(other.leaves[index]);
  FUZZ_CHECK(!BothConsistency(old_size, n, other.Root(old_size), tree.Root(n), path));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lodestone::fuzz::InputReader in(data, size);
  switch (in.Byte() % 4) {
    case 0:
      GenuineInclusion(in);
      break;
    case 1:
      GenuineConsistency(in);
      break;
    case 2:
      Differential(in);
      break;
    default:
      Forgery(in);
      break;
  }
  return 0;
}
