// RFC 6962 Merkle tree machinery, independent of storage: SHA-256, the right-edge frontier of a
// growing tree, and the PATH / PROOF algorithms of RFC 6962 section 2.1 over a caller-supplied
// subtree-hash function. Internal to storage/.
#ifndef LODESTONE_STORAGE_MERKLE_H_
#define LODESTONE_STORAGE_MERKLE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/log.h"

namespace lodestone::storage::merkle {

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& Update(std::string_view data);
  Sha256& Update(const Hash& data) {
    return Update(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
  }
  Hash Finish();  // the hasher may not be used afterwards

 private:
  void* ctx_;  // EVP_MD_CTX
};

inline std::string_view AsBytes(const Hash& hash) {
  return std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size());
}

// The chain value after appending a leaf: SHA-256(previous || leaf_hash).
Hash ChainHash(const Hash& previous, const Hash& leaf_hash);

// Largest power of two strictly less than n. Requires n >= 2.
inline uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while ((k << 1) < n) k <<= 1;
  return k;
}

inline bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

inline int Log2(uint64_t power_of_two) { return __builtin_ctzll(power_of_two); }

// MTH of in-memory leaf hashes (RFC 6962 recursion). Requires !leaves.empty().
Hash RangeRoot(std::span<const Hash> leaf_hashes);

// The right edge of a tree of `size()` leaves: for every set bit k of size, the hash of the
// complete subtree of 2^k leaves it covers. At most 64 hashes; enough to append and to compute
// the root.
class Frontier {
 public:
  uint64_t size() const { return size_; }

  // Appends one leaf hash. For every complete subtree of 2^level >= 2 leaves that this append
  // completes, calls on_node(level, index, hash), where the subtree covers leaves
  // [index * 2^level, (index + 1) * 2^level).
  template <typename OnNode>
  void Append(const Hash& leaf_hash, OnNode&& on_node) {
    Hash hash = leaf_hash;
    int level = 0;
    while ((size_ >> level) & 1) {
      hash = NodeHash(nodes_[level], hash);
      ++level;
      on_node(level, ((size_ + 1) >> level) - 1, hash);
    }
    nodes_[level] = hash;
    ++size_;
  }
  void Append(const Hash& leaf_hash) {
    Append(leaf_hash, [](int, uint64_t, const Hash&) {});
  }

  // The RFC 6962 root of the first size() leaves; EmptyRoot() when empty.
  Hash Root() const;

  // The frontier of a tree of `size` leaves, from `subtree(begin, end)`, the MTH of leaves
  // [begin, end) (asked only for complete aligned subtrees).
  static absl::StatusOr<Frontier> Build(
      uint64_t size, const std::function<absl::StatusOr<Hash>(uint64_t, uint64_t)>& subtree);

 private:
  uint64_t size_ = 0;
  std::array<Hash, 64> nodes_{};  // nodes_[k] is meaningful iff bit k of size_ is set
};

// MTH(D[begin:end]) for a subtree of the tree; called with 1 <= end - begin.
using SubtreeHashFn = std::function<absl::StatusOr<Hash>(uint64_t begin, uint64_t end)>;

// RFC 6962 PATH(index, D[0:size]). Requires index < size.
absl::StatusOr<std::vector<Hash>> InclusionPath(uint64_t index, uint64_t size,
                                                const SubtreeHashFn& subtree);

// RFC 6962 PROOF(old_size, D[0:new_size]). Requires old_size <= new_size; empty when old_size
// is 0 or equals new_size.
absl::StatusOr<std::vector<Hash>> ConsistencyPath(uint64_t old_size, uint64_t new_size,
                                                  const SubtreeHashFn& subtree);

// Proof verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2): the production verifier, used by
// lodectl and by peer catch-up. False for any proof that does not verify, including a wrong
// number of hashes or sizes out of order.
bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> path, const Hash& root);
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> path);

}  // namespace lodestone::storage::merkle

#endif  // LODESTONE_STORAGE_MERKLE_H_
