// lodectl: the command-line client for compliance teams and partners. Each command returns a
// process exit code; only main.cc reads flags.
#ifndef LODESTONE_SERVICES_LODECTL_LODECTL_H_
#define LODESTONE_SERVICES_LODECTL_LODECTL_H_

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"
#include "lodestone/v1/ledger.grpc.pb.h"
#include "lodestone/v1/provenance.grpc.pb.h"
#include "services/codec/event_signer.h"
#include "services/rpc/tls.h"

namespace lodestone::lodectl {

// Distinct exit codes, stable for scripts.
enum ExitCode : int {
  kOk = 0,
  kFailure = 1,       // anything else (internal error, data loss, ...)
  kUsage = 2,         // bad command line
  kUnreachable = 3,   // server unreachable or unavailable (after retries)
  kInvalidInput = 4,  // rejected input: malformed file, invalid event, failed precondition
  kNotFound = 5,      // unknown lot, shipment, party
  kRuleFailed = 6,    // check: a rule failed
  kVerifyFailed = 7,  // verify: a proof did not verify
};

struct Options {
  std::string server = "127.0.0.1:7400";
  // Of the channel; null = plain text. TLS credentials come from rpc::ClientTlsCredentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::string tls_server_name;  // TLS: the name to verify the server's certificate against
  uint64_t min_position = 0;
  // Every query: answer as the ledger stood after its first at_position events; 0 = now.
  uint64_t at_position = 0;
  int deadline_ms = 10000;
  bool json = false;
  bool dot = false;
  std::string svg;  // trace: render to this SVG file through Graphviz
  uint32_t depth = 0;
  uint32_t max_nodes = 0;
  std::vector<std::string> rule_sets;
  std::string as_of;  // YYYY-MM-DD or RFC 3339
  std::string country;
  std::string material;
  std::string from;  // flags, exposure: YYYY-MM-DD
  std::string to;
  size_t batch_events = 500;
  std::string head_file;             // verify: the head to check against
  std::vector<uint64_t> positions;   // verify: inclusion proofs to check
  bool progress = true;              // append: progress bar on a terminal
  bool show_not_applicable = false;  // check: also print rules that do not concern the subject
  // check: a JSON file {"declaredValues": [...]} (CheckComplianceRequest's protobuf JSON form)
  std::string declared_values;
  std::string signing_key;  // append: sign each event with this Ed25519 key (PEM)
  std::string attester;     // append --signing_key: the party signing (default: --tls_cert's)
  std::string key_out;      // keygen: where the new private key is written
  std::string actor = "lodestone-admin";  // keygen: who appends the registration
  std::string replaces_key_id;            // keygen: the key the new one rotates out
  std::string save_evidence;              // verify event: save what was checked, for offline use
  std::string evidence;                   // verify event: check saved evidence, offline
  uint32_t max_entries = 0;               // history: entries per page (0 = server default)
  std::string page_token;                 // history: go on from a previous page
  bool all = false;                       // history: every page
  // epcis: the ledger's HTTP port (http:// or https://), with the TLS files of the gRPC flags.
  std::string http_server = "http://127.0.0.1:7480";
  rpc::TlsFiles tls_files;
  std::string lot;  // epcis export: the lot's history (a lot URI or Lodestone lot id)
  std::string out;  // epcis export: the file written ("" or "-": stdout)
};

// Signs events as `attester` with an Ed25519 key (docs/security.md, "Signatures"): sets
// attested_by when empty and a detached signature over the event's canonical bytes.
using EventSigner = codec::EventSigner;  // services/codec/event_signer.h

class Client {
 public:
  explicit Client(const Options& options);
  std::unique_ptr<grpc::ClientContext> Context() const;
  v1::LedgerService::Stub& ledger() { return *ledger_; }
  v1::ProvenanceService::Stub& provenance() { return *provenance_; }
  grpc::health::v1::Health::Stub& health() { return *health_; }
  const Options& options() const { return options_; }

 private:
  const Options& options_;
  std::unique_ptr<v1::LedgerService::Stub> ledger_;
  std::unique_ptr<v1::ProvenanceService::Stub> provenance_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// Prints "lodectl: <what>: <status>" and returns the exit code for the status.
int ReportError(const std::string& what, const grpc::Status& status);
int ExitCodeOf(const grpc::Status& status);

// `signer` (may be null) signs every event before it is sent.
int Append(Client& client, const std::string& path, const EventSigner* signer, std::ostream& out);
int ShowLot(Client& client, const std::string& lot_id, std::ostream& out);
int Trace(Client& client, const std::string& lot_id, std::ostream& out);
int Downstream(Client& client, const std::string& lot_id, std::ostream& out);
int ShowShipment(Client& client, const std::vector<std::string>& ids, std::ostream& out);
int ListFlags(Client& client, std::ostream& out);
int Check(Client& client, const std::string& kind, const std::string& id, std::ostream& out);
int Exposure(Client& client, const std::string& party_id, std::ostream& out);
// history lot|shipment ID: the positions where the subject's answer changed, newest first, with
// the verdicts before and after each change when --as_of is given.
int History(Client& client, const std::string& kind, const std::string& id, std::ostream& out);
int Head(Client& client, std::ostream& out);
// The standard health service (grpc.health.v1.Health) for `service` ("" = the server): prints
// the status; kOk when SERVING, kUnreachable otherwise.
int Health(Client& client, const std::string& service, std::ostream& out);
int Verify(Client& client, std::ostream& out);
// verify event ID: the event's inclusion in --head_file's tree and its signature under the key
// its attester had at that position; from the server, or offline from --evidence.
int VerifyEvent(Client& client, const std::string& event_id, std::ostream& out);
// backup: an online backup of the ledger node into its --backup_dir (administrator or node).
int Backup(Client& client, std::ostream& out);
// backup views: an online backup of a provenance replica's views into its --backup_dir.
int BackupViews(Client& client, std::ostream& out);
// backups DIR: the backups in a backup directory (local, no server).
int ListBackups(const std::string& directory, std::ostream& out);
// restore DIR DATA_DIR: backup `backup_id` (0: the latest) into the new directory DATA_DIR,
// opened and verified before it says OK (local, no server; the node must not be running there).
// Exit 7 when the backup or the restored log does not verify. A view store's backup is
// restored and opened (a provenance replica started on it folds on from its checkpoint).
int Restore(const std::string& directory, uint32_t backup_id, const std::string& data_dir,
            std::ostream& out);
// keygen PARTY: a new Ed25519 key to --key_out, and its registration as an NDJSON line.
int Keygen(const Options& options, const std::string& party, std::ostream& out);

// epcis import FILE|-: captures an EPCIS 2.0 document through POST /capture, --batch_events
// EPCIS events per capture (each atomic; re-running is idempotent), progress on stderr; a
// refusal names the file's line, the event's index and the JSON Pointer (exit 4).
int EpcisImport(const Options& options, const std::string& path, std::ostream& out);
// epcis export: the events of --lot and/or --from/--to (GET /events, every page) as one EPCIS
// 2.0 document, to --out or stdout.
int EpcisExport(const Options& options, std::ostream& out);

// Parses YYYY-MM-DD (midnight UTC) or RFC 3339.
bool ParseTime(const std::string& text, google::protobuf::Timestamp* out);

}  // namespace lodestone::lodectl

#endif  // LODESTONE_SERVICES_LODECTL_LODECTL_H_
