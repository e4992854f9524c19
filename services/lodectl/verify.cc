// lodectl head / verify: save a signed-off head, later check that the ledger still extends it
// (consistency proof) and that given positions are in it (inclusion proofs). The proofs are
// verified here, on the client, with RFC 9162's algorithms: the server is not trusted.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "google/protobuf/util/json_util.h"
#include "services/codec/record_codec.h"
#include "services/lodectl/lodectl.h"
#include "storage/merkle.h"

namespace lodestone::lodectl {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

}  // namespace

int Head(Client& client, std::ostream& out) {
  v1::Head head;
  auto status = client.ledger().GetHead(client.Context().get(), v1::GetHeadRequest(), &head);
  if (!status.ok()) return ReportError("head", status);
  if (client.options().json) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(head, &json, options);
    out << json << "\n";
    return kOk;
  }
  out << "size " << head.size() << "\nroot " << Hex(head.root_hash()) << "\nchain "
      << Hex(head.chain_hash()) << "\n";
  if (head.has_node()) {
    const v1::NodeStatus& node = head.node();
    out << "node " << node.node_id() << " (" << node.role() << "), leader "
        << (node.leader_id().empty() ? "unknown" : node.leader_id()) << ", applied batch "
        << node.applied_sequence() << " of " << node.committed_sequence() << "\n";
  }
  return kOk;
}

int Verify(Client& client, std::ostream& out) {
  if (client.options().head_file.empty()) {
    std::cerr << "lodectl: verify needs --head_file (saved with 'lodectl head --json')\n";
    return kUsage;
  }
  std::ifstream file(client.options().head_file);
  std::stringstream text;
  text << file.rdbuf();
  v1::Head trusted;
  if (!file || !google::protobuf::util::JsonStringToMessage(text.str(), &trusted).ok() ||
      trusted.root_hash().size() != 32) {
    std::cerr << "lodectl: " << client.options().head_file << " is not a saved head\n";
    return kInvalidInput;
  }
  v1::Head current;
  auto status = client.ledger().GetHead(client.Context().get(), v1::GetHeadRequest(), &current);
  if (!status.ok()) return ReportError("head", status);
  bool ok = true;
  // 1. The current log extends the trusted head.
  v1::GetConsistencyProofRequest consistency;
  consistency.set_old_size(trusted.size());
  consistency.set_new_size(current.size());
  v1::ConsistencyProof proof;
  status = client.ledger().GetConsistencyProof(client.Context().get(), consistency, &proof);
  if (!status.ok()) return ReportError("consistency proof", status);
  const auto trusted_root = codec::HashFromBytes(trusted.root_hash());
  const auto current_root = codec::HashFromBytes(current.root_hash());
  const auto consistency_path = codec::HashesFromBytes(proof.path());
  const bool consistent =
      trusted_root && current_root && consistency_path &&
      storage::merkle::VerifyConsistency(trusted.size(), current.size(), *trusted_root,
                                         *current_root, *consistency_path);
  out << (consistent ? "OK  " : "BAD ") << "the log of size " << current.size()
      << (consistent ? " extends" : " does NOT extend") << " the trusted head of size "
      << trusted.size() << "\n";
  ok &= consistent;
  // 2. Each position is included in the trusted tree, with the leaf the server returns.
  for (uint64_t position : client.options().positions) {
    v1::GetInclusionProofRequest request;
    request.set_position(position);
    request.set_tree_size(trusted.size());
    v1::InclusionProof inclusion;
    status = client.ledger().GetInclusionProof(client.Context().get(), request, &inclusion);
    if (!status.ok()) return ReportError("inclusion proof", status);
    const storage::Hash leaf_hash = storage::LeafHash(inclusion.leaf_data());
    const auto inclusion_path = codec::HashesFromBytes(inclusion.path());
    const bool included = trusted_root && inclusion_path &&
                          storage::merkle::VerifyInclusion(position, trusted.size(), leaf_hash,
                                                           *inclusion_path, *trusted_root);
    out << (included ? "OK  " : "BAD ") << "position " << position << (included ? " is" : " is NOT")
        << " in the trusted tree (leaf " << Hex(codec::HashToBytes(leaf_hash)).substr(0, 16)
        << "...)\n";
    ok &= included;
  }
  return ok ? kOk : kVerifyFailed;
}

}  // namespace lodestone::lodectl
