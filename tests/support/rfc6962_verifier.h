// An independent RFC 6962 / RFC 9162 proof verifier for tests: its own SHA-256 (OpenSSL) and the
// verification algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2. Shares no code with storage/.
#ifndef LODESTONE_TESTS_SUPPORT_RFC6962_VERIFIER_H_
#define LODESTONE_TESTS_SUPPORT_RFC6962_VERIFIER_H_

#include <openssl/sha.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lodestone::testing {

inline std::string Sha256(const std::string& data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), SHA256_DIGEST_LENGTH);
}

inline std::string RfcLeafHash(const std::string& leaf) {
  return Sha256(std::string(1, '\0') + leaf);
}

inline std::string RfcNodeHash(const std::string& left, const std::string& right) {
  return Sha256(std::string(1, '\1') + left + right);
}

// MTH over leaf data, straight from the definition (O(n) hashes; for small trees).
inline std::string NaiveRoot(const std::vector<std::string>& leaves, size_t begin, size_t end) {
  const size_t n = end - begin;
  if (n == 0) return Sha256("");
  if (n == 1) return RfcLeafHash(leaves[begin]);
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return RfcNodeHash(NaiveRoot(leaves, begin, begin + k), NaiveRoot(leaves, begin + k, end));
}

inline bool VerifyInclusion(uint64_t index, uint64_t size, const std::string& leaf_hash,
                            const std::vector<std::string>& path, const std::string& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  std::string r = leaf_hash;
  for (const auto& p : path) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = RfcNodeHash(p, r);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = RfcNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

inline bool VerifyConsistency(uint64_t first, uint64_t second, const std::string& first_hash,
                              const std::string& second_hash, std::vector<std::string> path) {
  if (first > second) return false;
  if (first == second) return path.empty() && first_hash == second_hash;
  if (first == 0) return path.empty();
  if (path.empty()) return false;
  if ((first & (first - 1)) == 0) path.insert(path.begin(), first_hash);
  uint64_t fn = first - 1, sn = second - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::string fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const std::string& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = RfcNodeHash(c, fr);
      sr = RfcNodeHash(c, sr);
      if (!(fn & 1)) {
        while (!(fn & 1) && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = RfcNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == first_hash && sr == second_hash && sn == 0;
}

}  // namespace lodestone::testing

#endif  // LODESTONE_TESTS_SUPPORT_RFC6962_VERIFIER_H_
