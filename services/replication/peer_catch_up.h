// Catch-up from a peer ledger node (docs/replication.md section 8): a node whose next batch is
// no longer in etcd copies the records below the window from another node over gRPC, and
// verifies every chunk against the window's trust anchors (written to etcd by a fenced leader)
// before applying any of it.
#ifndef LODESTONE_SERVICES_REPLICATION_PEER_CATCH_UP_H_
#define LODESTONE_SERVICES_REPLICATION_PEER_CATCH_UP_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "lodestone/v1/state.pb.h"
#include "services/ledger/ledger.h"

namespace lodestone::replication {

struct PeerCatchUpOptions {
  uint32_t chunk_records = 1000;                    // records asked for per ReadAll
  absl::Duration call_timeout = absl::Seconds(10);  // per call to the peer
};

// Copies records [ledger size, window.first_position) from `peer` into `ledger`. For each
// chunk [n, k) it recomputes the leaf hashes from the records, extends the ledger's own Merkle
// frontier at n with them, and checks the resulting root against window.root_before with the
// peer's consistency proof (k, m) (at k == m: the root itself and the chain value
// window.prev_chain). Only a verified chunk is applied, through the write-model rules
// (ApplyReplicated in replicated_batch.h, one group per commit time); the last group carries
// `final_sequence`, recorded atomically with it. Returns
//   DATA_LOSS   the peer's data does not verify (nothing of that chunk was applied);
//   UNAVAILABLE the peer could not be reached or had too little;
//   INTERNAL    a verified chunk was rejected or applied differently here (a determinism bug:
//               the caller must stop applying);
//   FAILED_PRECONDITION the ledger is already past the window start.
absl::Status CatchUpFromPeer(ledger::Ledger& ledger, v1::LedgerService::StubInterface& peer,
                             const v1::internal::ReplicationWindow& window, int64_t final_sequence,
                             const PeerCatchUpOptions& options = {});

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_PEER_CATCH_UP_H_
