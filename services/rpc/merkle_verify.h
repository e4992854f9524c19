// Client-side verification of RFC 6962 / RFC 9162 Merkle proofs (used by lodectl verify).
#ifndef LODESTONE_SERVICES_RPC_MERKLE_VERIFY_H_
#define LODESTONE_SERVICES_RPC_MERKLE_VERIFY_H_

#include <cstdint>
#include <string>
#include <vector>

namespace lodestone::rpc {

std::string MerkleLeafHash(const std::string& leaf_data);  // SHA-256(0x00 || data)

// RFC 9162 section 2.1.3.2.
bool VerifyInclusionProof(uint64_t index, uint64_t tree_size, const std::string& leaf_hash,
                          const std::vector<std::string>& path, const std::string& root);
// RFC 9162 section 2.1.4.2.
bool VerifyConsistencyProof(uint64_t old_size, uint64_t new_size, const std::string& old_root,
                            const std::string& new_root, std::vector<std::string> path);

}  // namespace lodestone::rpc

#endif  // LODESTONE_SERVICES_RPC_MERKLE_VERIFY_H_
