#include "storage/merkle.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace lodestone::storage {
namespace merkle {
namespace {

const EVP_MD* Sha256Method() {
  // Fetched once: an implicit fetch per digest is slow in OpenSSL 3.
  static const EVP_MD* const kMethod = [] {
    EVP_MD* method = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (method == nullptr) std::abort();  // OpenSSL without SHA-256: nothing can work
    return method;
  }();
  return kMethod;
}

absl::Status AppendPath(uint64_t index, uint64_t begin, uint64_t end, const SubtreeHashFn& subtree,
                        std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n == 1) return absl::OkStatus();
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  if (index < k) {
    if (auto status = AppendPath(index, begin, begin + k, subtree, out); !status.ok()) {
      return status;
    }
    sibling = subtree(begin + k, end);
  } else {
    if (auto status = AppendPath(index - k, begin + k, end, subtree, out); !status.ok()) {
      return status;
    }
    sibling = subtree(begin, begin + k);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return absl::OkStatus();
}

// RFC 6962 SUBPROOF(m, D[begin:end], b), m relative to begin.
absl::Status AppendSubProof(uint64_t m, uint64_t begin, uint64_t end, bool complete,
                            const SubtreeHashFn& subtree, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (complete) return absl::OkStatus();
    absl::StatusOr<Hash> hash = subtree(begin, end);
    if (!hash.ok()) return hash.status();
    out.push_back(*hash);
    return absl::OkStatus();
  }
  const uint64_t k = SplitPoint(n);
  absl::StatusOr<Hash> sibling;
  if (m <= k) {
    if (auto status = AppendSubProof(m, begin, begin + k, complete, subtree, out); !status.ok()) {
      return status;
    }
    sibling = subtree(begin + k, end);
  } else {
    if (auto status = AppendSubProof(m - k, begin + k, end, false, subtree, out); !status.ok()) {
      return status;
    }
    sibling = subtree(begin, begin + k);
  }
  if (!sibling.ok()) return sibling.status();
  out.push_back(*sibling);
  return absl::OkStatus();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (ctx == nullptr || EVP_DigestInit_ex2(ctx, Sha256Method(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256& Sha256::Update(std::string_view data) {
  if (EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()) != 1) {
    std::abort();
  }
  return *this;
}

Hash Sha256::Finish() {
  Hash out{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &length) != 1 ||
      length != out.size()) {
    std::abort();
  }
  return out;
}

Hash ChainHash(const Hash& previous, const Hash& leaf_hash) {
  return Sha256().Update(previous).Update(leaf_hash).Finish();
}

Hash RangeRoot(std::span<const Hash> leaf_hashes) {
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  const uint64_t k = SplitPoint(leaf_hashes.size());
  return NodeHash(RangeRoot(leaf_hashes.first(k)), RangeRoot(leaf_hashes.subspan(k)));
}

Hash Frontier::Root() const {
  if (size_ == 0) return EmptyRoot();
  int level = __builtin_ctzll(size_);
  Hash root = nodes_[level];
  for (++level; level < 64; ++level) {
    if ((size_ >> level) & 1) root = NodeHash(nodes_[level], root);
  }
  return root;
}

absl::StatusOr<Frontier> Frontier::Build(
    uint64_t size, const std::function<absl::StatusOr<Hash>(uint64_t, uint64_t)>& subtree) {
  Frontier frontier;
  uint64_t begin = 0;
  for (int level = 63; level >= 0; --level) {
    if (((size >> level) & 1) == 0) continue;
    const uint64_t end = begin + (uint64_t{1} << level);
    absl::StatusOr<Hash> hash = subtree(begin, end);
    if (!hash.ok()) return hash.status();
    frontier.nodes_[level] = *hash;
    begin = end;
  }
  frontier.size_ = size;
  return frontier;
}

absl::StatusOr<std::vector<Hash>> InclusionPath(uint64_t index, uint64_t size,
                                                const SubtreeHashFn& subtree) {
  std::vector<Hash> path;
  if (auto status = AppendPath(index, 0, size, subtree, path); !status.ok()) return status;
  return path;
}

absl::StatusOr<std::vector<Hash>> ConsistencyPath(uint64_t old_size, uint64_t new_size,
                                                  const SubtreeHashFn& subtree) {
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  if (auto status = AppendSubProof(old_size, 0, new_size, true, subtree, proof); !status.ok()) {
    return status;
  }
  return proof;
}

namespace {

// Right-shifts both until the lowest bit of `fn` is set or `fn` is zero.
void ShiftWhileEven(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> path, const Hash& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      ShiftWhileEven(fn, sn);
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  // A power-of-two old tree is itself a node of the new one: its root starts the path.
  std::vector<Hash> path;
  path.reserve(proof.size() + 1);
  if (IsPowerOfTwo(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0];
  Hash sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(path[i], fr);
      sr = NodeHash(path[i], sr);
      ShiftWhileEven(fn, sn);
    } else {
      sr = NodeHash(sr, path[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace merkle

Hash LeafHash(std::string_view leaf_data) {
  static constexpr char kLeafPrefix = 0x00;
  return merkle::Sha256().Update(std::string_view(&kLeafPrefix, 1)).Update(leaf_data).Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  static constexpr char kNodePrefix = 0x01;
  return merkle::Sha256()
      .Update(std::string_view(&kNodePrefix, 1))
      .Update(left)
      .Update(right)
      .Finish();
}

Hash EmptyRoot() {
  static const Hash kEmpty = merkle::Sha256().Finish();
  return kEmpty;
}

}  // namespace lodestone::storage
