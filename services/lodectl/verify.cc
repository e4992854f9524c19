// lodectl head / verify: save a signed-off head, later check that the ledger still extends it
// (consistency proof) and that given positions are in it (inclusion proofs). The proofs are
// verified here, on the client, with RFC 9162's algorithms: the server is not trusted.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "services/crypto/ed25519.h"
#include "services/lodectl/lodectl.h"
#include "storage/leaf.h"
#include "storage/merkle.h"

namespace lodestone::lodectl {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

bool ReadText(const std::string& path, std::string* out) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  *out = text.str();
  return static_cast<bool>(file);
}

bool LoadTrustedHead(const std::string& path, v1::Head* trusted) {
  std::string text;
  if (!ReadText(path, &text) || !google::protobuf::util::JsonStringToMessage(text, trusted).ok() ||
      trusted->root_hash().size() != 32) {
    std::cerr << "lodectl: " << path << " is not a saved head (lodectl head --json)\n";
    return false;
  }
  return true;
}

// A proven leaf: the record it encodes and its event, parsed from the exact stored bytes.
struct ProvenEvent {
  storage::Record record;
  v1::Event event;
  std::string signed_message;
};

// Checks `proof` against the trusted head and decodes its leaf; the reason on failure.
absl::StatusOr<ProvenEvent> Prove(const v1::InclusionProof& proof, const v1::Head& trusted) {
  if (proof.tree_size() != trusted.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a proof for tree size ", proof.tree_size(),
                                                   ", not the trusted head's ", trusted.size()));
  }
  const auto root = codec::HashFromBytes(trusted.root_hash());
  const auto path = codec::HashesFromBytes(proof.path());
  if (!root || !path ||
      !storage::merkle::VerifyInclusion(proof.position(), trusted.size(),
                                        storage::LeafHash(proof.leaf_data()), *path, *root)) {
    return absl::DataLossError(absl::StrCat("position ", proof.position(),
                                            " is NOT in the trusted tree with these bytes"));
  }
  auto record = storage::DecodeLeafData(proof.leaf_data());
  if (!record.ok()) return record.status();
  if (record->position != proof.position()) {
    return absl::DataLossError("the leaf names another position than its proof");
  }
  ProvenEvent proven;
  auto message = codec::SignedMessageOfStoredBytes(record->payload, &proven.event);
  if (!message.ok()) return message.status();
  proven.signed_message = *std::move(message);
  proven.record = *std::move(record);
  return proven;
}

std::string PayloadName(const v1::Event& event) {
  const auto* oneof = event.GetDescriptor()->FindOneofByName("payload");
  const auto* field = event.GetReflection()->GetOneofFieldDescriptor(event, oneof);
  return field == nullptr ? "no payload" : field->name();
}

// Does key event `e` (of the attester) register `key_id`, or revoke it (directly or by rotation)?
bool Registers(const v1::Event& e, const std::string& party, const std::string& key_id) {
  return e.has_signing_key_registered() && e.signing_key_registered().party_id() == party &&
         e.signing_key_registered().key_id() == key_id;
}
bool Revokes(const v1::Event& e, const std::string& party, const std::string& key_id) {
  return (e.has_signing_key_revoked() && e.signing_key_revoked().party_id() == party &&
          e.signing_key_revoked().key_id() == key_id) ||
         (e.has_signing_key_registered() && e.signing_key_registered().party_id() == party &&
          e.signing_key_registered().replaces_key_id() == key_id);
}

// The verdict on saved evidence: every line printed, kOk or kVerifyFailed.
int CheckEvidence(const v1::EventEvidence& evidence, const v1::Head& trusted,
                  const std::string& event_id, std::ostream& out) {
  auto event = Prove(evidence.event(), trusted);
  if (!event.ok()) {
    out << "BAD event " << event_id << ": " << event.status().message() << "\n";
    return kVerifyFailed;
  }
  const v1::Event& e = event->event;
  if (e.event_id() != event_id) {
    out << "BAD the proven leaf holds event " << e.event_id() << ", not " << event_id << "\n";
    return kVerifyFailed;
  }
  out << "OK  event " << event_id << " is at position " << event->record.position
      << " of the trusted tree of size " << trusted.size() << "\n"
      << "    " << PayloadName(e) << " on " << e.subject() << ", actor " << e.actor()
      << ", committed "
      << absl::FormatTime(absl::RFC3339_full, event->record.commit_time, absl::UTCTimeZone())
      << "\n";
  const std::string& attester = e.attested_by();
  if (!e.has_signature()) {
    if (attester.empty()) {
      out << "    no attester: committed before attestation existed\n";
    } else {
      out << "    attested by " << attester
          << " (unsigned: the party had no signing key; the ledger authenticated the "
             "caller)\n";
    }
    return kOk;
  }
  const std::string& key_id = e.signature().key_id();
  std::optional<ProvenEvent> registration;
  for (const auto& proof : evidence.key_events()) {
    auto key_event = Prove(proof, trusted);
    if (!key_event.ok()) {
      out << "BAD key event at position " << proof.position() << ": "
          << key_event.status().message() << "\n";
      return kVerifyFailed;
    }
    if (key_event->record.position >= event->record.position) continue;  // later: irrelevant
    if (Revokes(key_event->event, attester, key_id)) {
      out << "BAD key " << key_id << " of " << attester << " was revoked at position "
          << key_event->record.position << " (event " << key_event->event.event_id()
          << "), before the event\n";
      return kVerifyFailed;
    }
    if (Registers(key_event->event, attester, key_id)) registration = *std::move(key_event);
  }
  if (!registration.has_value()) {
    out << "BAD no registration of key " << key_id << " of " << attester
        << " before the event is in the evidence\n";
    return kVerifyFailed;
  }
  const std::string& public_key = registration->event.signing_key_registered().public_key();
  if (!crypto::VerifySignature(public_key, event->signed_message, e.signature().signature())) {
    out << "BAD the signature does NOT verify under key " << key_id << " of " << attester << "\n";
    return kVerifyFailed;
  }
  out << "OK  signed by " << attester << " with key " << key_id << ", registered at position "
      << registration->record.position << " (event " << registration->event.event_id()
      << ", attested by " << registration->event.attested_by() << ") and not revoked before\n";
  return kOk;
}

// Builds the evidence of `event_id` for `trusted` from the server.
int FetchEvidence(Client& client, const std::string& event_id, const v1::Head& trusted,
                  v1::EventEvidence* evidence) {
  v1::GetEventRequest get;
  get.set_event_id(event_id);
  v1::StoredEvent stored;
  auto status = client.ledger().GetEvent(client.Context().get(), get, &stored);
  if (!status.ok()) return ReportError("event " + event_id, status);
  if (stored.position() >= trusted.size()) {
    std::cerr << "lodectl: event " << event_id << " is at position " << stored.position()
              << ", after the trusted head of size " << trusted.size()
              << ": save a newer head (lodectl head --json) and check it with verify\n";
    return kInvalidInput;
  }
  auto prove = [&](uint64_t position, v1::InclusionProof* proof) {
    v1::GetInclusionProofRequest request;
    request.set_position(position);
    request.set_tree_size(trusted.size());
    return client.ledger().GetInclusionProof(client.Context().get(), request, proof);
  };
  status = prove(stored.position(), evidence->mutable_event());
  if (!status.ok()) return ReportError("inclusion proof", status);
  const v1::Event& e = stored.event();
  if (!e.has_signature()) return kOk;
  // The attester's key events before the event: its party stream, page by page.
  v1::ReadStreamRequest read;
  read.set_subject("party/" + e.attested_by());
  read.set_from_version(1);
  for (;;) {
    v1::ReadStreamResponse page;
    status = client.ledger().ReadStream(client.Context().get(), read, &page);
    if (!status.ok()) return ReportError("read " + read.subject(), status);
    if (page.withheld() > 0) {
      std::cerr << "lodectl: " << page.withheld() << " event(s) of " << read.subject()
                << " are not readable by this caller; the evidence may lack a key event\n";
    }
    for (const auto& key_event : page.events()) {
      if (key_event.position() >= stored.position()) continue;
      const v1::Event& k = key_event.event();
      const std::string& key_id = e.signature().key_id();
      if (!Registers(k, e.attested_by(), key_id) && !Revokes(k, e.attested_by(), key_id)) continue;
      status = prove(key_event.position(), evidence->add_key_events());
      if (!status.ok()) return ReportError("inclusion proof", status);
    }
    if (page.events_size() == 0 && page.withheld() == 0) break;
    if (page.next_version() > page.stream_version()) break;
    read.set_from_version(page.next_version());
  }
  return kOk;
}

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
  if (head.has_health() && !head.health().serving()) {
    out << "health NOT_SERVING: " << head.health().code() << ": " << head.health().reason() << "\n";
  }
  return kOk;
}

int Verify(Client& client, std::ostream& out) {
  if (client.options().head_file.empty()) {
    std::cerr << "lodectl: verify needs --head_file (saved with 'lodectl head --json')\n";
    return kUsage;
  }
  v1::Head trusted;
  if (!LoadTrustedHead(client.options().head_file, &trusted)) return kInvalidInput;
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

int VerifyEvent(Client& client, const std::string& event_id, std::ostream& out) {
  const Options& options = client.options();
  if (options.head_file.empty()) {
    std::cerr << "lodectl: verify event needs --head_file (saved with 'lodectl head --json')\n";
    return kUsage;
  }
  v1::Head trusted;
  if (!LoadTrustedHead(options.head_file, &trusted)) return kInvalidInput;
  v1::EventEvidence evidence;
  if (!options.evidence.empty()) {
    std::string text;
    if (!ReadText(options.evidence, &text) ||
        !google::protobuf::util::JsonStringToMessage(text, &evidence).ok()) {
      std::cerr << "lodectl: " << options.evidence << " is not saved evidence\n";
      return kInvalidInput;
    }
  } else if (int code = FetchEvidence(client, event_id, trusted, &evidence); code != kOk) {
    return code;
  }
  if (!options.save_evidence.empty()) {
    std::string json;
    google::protobuf::util::JsonPrintOptions print;
    print.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(evidence, &json, print);
    std::ofstream file(options.save_evidence, std::ios::binary);
    file << json;
    file.close();
    if (!file) {
      std::cerr << "lodectl: cannot write " << options.save_evidence << "\n";
      return kFailure;
    }
  }
  return CheckEvidence(evidence, trusted, event_id, out);
}

}  // namespace lodestone::lodectl
