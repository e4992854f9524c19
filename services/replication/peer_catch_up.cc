#include "services/replication/peer_catch_up.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/codec/event_codec.h"
#include "services/codec/record_codec.h"
#include "services/replication/replicated_batch.h"
#include "services/rpc/grpc_status.h"
#include "storage/merkle.h"

namespace lodestone::replication {
namespace {

using storage::Hash;

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
}

absl::Status PeerError(const grpc::Status& status, const std::string& what) {
  return absl::UnavailableError(absl::StrCat("peer ", what, ": ", status.error_message()));
}

// A verified chunk, applied as one group per run of equal commit times.
absl::Status Apply(ledger::Ledger& ledger, const std::vector<v1::StoredEvent>& events,
                   const std::vector<std::string>& payloads, int64_t last_sequence) {
  size_t begin = 0;
  while (begin < events.size()) {
    v1::internal::ReplicatedBatch batch;
    batch.set_first_position(events[begin].position());
    const auto& time = events[begin].commit_time();
    batch.set_commit_time_micros(time.seconds() * 1000000 + time.nanos() / 1000);
    size_t end = begin;
    for (; end < events.size(); ++end) {
      const auto& t = events[end].commit_time();
      if (t.seconds() != time.seconds() || t.nanos() != time.nanos()) break;
      auto* record = batch.add_records();
      record->set_event_id(events[end].event().event_id());
      record->set_subject(events[end].event().subject());
      record->set_payload(payloads[end]);
    }
    if (end == events.size()) batch.set_sequence(last_sequence);
    if (auto status = ApplyReplicatedAndWait(ledger, std::move(batch)); !status.ok()) {
      return absl::InternalError(absl::StrCat("verified records from position ",
                                              events[begin].position(),
                                              " were rejected here: ", status.message()));
    }
    begin = end;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CatchUpFromPeer(ledger::Ledger& ledger, v1::LedgerService::StubInterface& peer,
                             const v1::internal::ReplicationWindow& window, int64_t final_sequence,
                             const PeerCatchUpOptions& options) {
  const uint64_t m = window.first_position();
  const std::optional<Hash> root_anchor = codec::HashFromBytes(window.root_before());
  const std::optional<Hash> chain_anchor = codec::HashFromBytes(window.prev_chain());
  if (!root_anchor.has_value() || !chain_anchor.has_value()) {
    return absl::DataLossError("the window's anchors are not 32-byte hashes");
  }
  const Hash root_before = *root_anchor;
  const Hash prev_chain = *chain_anchor;
  storage::Head head = ledger.log().GetHead();
  if (head.size > m) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log holds ", head.size, " records, past the window start ", m));
  }
  auto frontier = ledger.log().FrontierAt(head.size);
  if (!frontier.ok()) return frontier.status();
  Hash chain = head.chain;
  uint64_t n = head.size;
  while (n < m) {
    v1::ReadAllRequest request;
    request.set_from_position(n);
    request.set_max_events(static_cast<uint32_t>(std::min<uint64_t>(options.chunk_records, m - n)));
    v1::ReadAllResponse response;
    grpc::ClientContext context;
    SetDeadline(context, options.call_timeout);
    if (auto status = peer.ReadAll(&context, request, &response); !status.ok()) {
      return PeerError(status, absl::StrCat("ReadAll from ", n));
    }
    if (response.events_size() == 0) {
      return absl::UnavailableError(absl::StrCat("peer has no records from position ", n));
    }
    std::vector<v1::StoredEvent> events(response.events().begin(), response.events().end());
    if (events.size() > m - n) events.resize(m - n);

    // Recompute the leaves, the frontier and the chain from what the peer sent.
    storage::merkle::Frontier extended = *frontier;
    Hash extended_chain = chain;
    std::vector<std::string> payloads;
    payloads.reserve(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::StoredEvent& e = events[i];
      if (e.position() != n + i) {
        return absl::DataLossError(
            absl::StrCat("peer sent position ", e.position(), " where ", n + i, " was expected"));
      }
      // The bytes the peer holds (event_bytes), never a re-serialisation of the parsed event,
      // which another protobuf version may encode differently (a peer older than event_bytes
      // sends none: then the re-serialisation, which the checks below refuse if it differs).
      std::string scratch;
      payloads.emplace_back(codec::StoredEventBytes(e, &scratch));
      auto leaf_hash = codec::StoredEventLeafHash(e, payloads.back());
      if (!leaf_hash.ok()) return leaf_hash.status();
      extended.Append(*leaf_hash);
      extended_chain = storage::merkle::ChainHash(extended_chain, *leaf_hash);
    }
    const uint64_t k = n + events.size();
    const Hash root_k = extended.Root();
    if (k < m) {
      v1::GetConsistencyProofRequest proof_request;
      proof_request.set_old_size(k);
      proof_request.set_new_size(m);
      v1::ConsistencyProof proof;
      grpc::ClientContext proof_context;
      SetDeadline(proof_context, options.call_timeout);
      if (auto status = peer.GetConsistencyProof(&proof_context, proof_request, &proof);
          !status.ok()) {
        return PeerError(status, absl::StrCat("GetConsistencyProof ", k, " -> ", m));
      }
      const auto path = codec::HashesFromBytes(proof.path());
      if (!path.has_value() ||
          !storage::merkle::VerifyConsistency(k, m, root_k, root_before, *path)) {
        return absl::DataLossError(absl::StrCat("records [", n, ", ", k,
                                                ") from the peer do not verify against the "
                                                "window's root at ",
                                                m));
      }
    } else if (root_k != root_before || extended_chain != prev_chain) {
      return absl::DataLossError(absl::StrCat("records [", n, ", ", m,
                                              ") from the peer do not end at the window's root "
                                              "and chain"));
    }

    if (auto status = Apply(ledger, events, payloads, k == m ? final_sequence : 0); !status.ok()) {
      return status;
    }
    const storage::Head applied = ledger.log().GetHead();
    if (applied.size != k || applied.root != root_k || applied.chain != extended_chain) {
      return absl::InternalError(
          absl::StrCat("verified records [", n, ", ", k, ") were applied differently here"));
    }
    *frontier = extended;
    chain = extended_chain;
    n = k;
  }
  if (head.size == m && (head.root != root_before || head.chain != prev_chain)) {
    return absl::InternalError("this log's first records differ from the committed history");
  }
  return absl::OkStatus();
}

}  // namespace lodestone::replication
