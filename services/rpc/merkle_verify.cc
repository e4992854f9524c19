#include "services/rpc/merkle_verify.h"

#include <openssl/evp.h>

namespace lodestone::rpc {
namespace {

std::string Sha256(unsigned char prefix, const std::string& a, const std::string& b = "") {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  EVP_DigestUpdate(context, &prefix, 1);
  EVP_DigestUpdate(context, a.data(), a.size());
  EVP_DigestUpdate(context, b.data(), b.size());
  EVP_DigestFinal_ex(context, out, &length);
  EVP_MD_CTX_free(context);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string Node(const std::string& left, const std::string& right) {
  return Sha256(0x01, left, right);
}

// Right-shifts both until the lowest bit of `fn` is set or `fn` is zero.
void ShiftWhileEven(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

std::string MerkleLeafHash(const std::string& leaf_data) { return Sha256(0x00, leaf_data); }

bool VerifyInclusionProof(uint64_t index, uint64_t tree_size, const std::string& leaf_hash,
                          const std::vector<std::string>& path, const std::string& root) {
  if (index >= tree_size) return false;
  uint64_t fn = index, sn = tree_size - 1;
  std::string r = leaf_hash;
  for (const auto& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      r = Node(p, r);
      ShiftWhileEven(fn, sn);
    } else {
      r = Node(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistencyProof(uint64_t old_size, uint64_t new_size, const std::string& old_root,
                            const std::string& new_root, std::vector<std::string> path) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return path.empty() && old_root == new_root;
  if (old_size == 0) return path.empty();
  if (path.empty()) return false;
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), old_root);
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    if (sn == 0) return false;
    if ((fn & 1) == 1 || fn == sn) {
      fr = Node(path[i], fr);
      sr = Node(path[i], sr);
      ShiftWhileEven(fn, sn);
    } else {
      sr = Node(sr, path[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace lodestone::rpc
