// lodectl: the Lodestone command-line client. Only main reads flags.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "services/lodectl/lodectl.h"
#include "services/rpc/identity.h"
#include "services/rpc/tls.h"

ABSL_FLAG(std::string, server, "127.0.0.1:7400", "Lodestone server address (host:port)");
ABSL_FLAG(std::string, tls_ca, "",
          "TLS: PEM CA certificates to verify the server with (setting it turns TLS on)");
ABSL_FLAG(std::string, tls_cert, "",
          "TLS: PEM client certificate chain, for servers that require client certificates "
          "(with --tls_key; turns TLS on, verifying the server against the default roots "
          "unless --tls_ca is set)");
ABSL_FLAG(std::string, tls_key, "", "TLS: PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: verify the server's certificate for this name instead of the host of --server "
          "(e.g. through a port forward)");
ABSL_FLAG(uint64_t, min_position, 0,
          "read-your-writes: wait until the views reflect this ledger position");
ABSL_FLAG(uint64_t, at_position, 0,
          "every query: answer as the ledger stood after its first N events (positions "
          "0..N-1; 0 = now); history: the history up to there");
ABSL_FLAG(uint32_t, max_entries, 0, "history: entries per page (0 = server default, 20; max 200)");
ABSL_FLAG(std::string, page_token, "", "history: the page after a previous one");
ABSL_FLAG(bool, all, false, "history: every page (at most 100 pages)");
ABSL_FLAG(int, deadline_ms, 10000, "deadline of every call");
ABSL_FLAG(bool, json, false, "print the answer in the protobuf JSON mapping");
ABSL_FLAG(bool, dot, false, "trace: print a Graphviz graph");
ABSL_FLAG(std::string, svg, "", "trace: render the graph to this SVG file (needs Graphviz)");
ABSL_FLAG(uint32_t, depth, 0, "trace: maximum depth (0 = server default)");
ABSL_FLAG(uint32_t, max_nodes, 0, "trace, downstream: nodes per page (0 = server default)");
ABSL_FLAG(
    std::vector<std::string>, rule_set, {},
    "check, flags, history: rule sets (dfars, china-re-0.1pct, eu-crma, uflpa, transshipment, "
    "china-export-licensing)");
ABSL_FLAG(std::string, as_of, "", "check, exposure, history: the date rules are evaluated at");
ABSL_FLAG(std::string, country, "", "flags: only flags naming this country");
ABSL_FLAG(std::string, material, "", "flags: only this material (e.g. ANTIMONY_OXIDE)");
ABSL_FLAG(std::string, from, "", "flags, exposure: from this date (YYYY-MM-DD)");
ABSL_FLAG(std::string, to, "", "flags, exposure: until this date (exclusive)");
ABSL_FLAG(size_t, batch_events, 500,
          "append: events per Append call; epcis import: EPCIS events per capture");
ABSL_FLAG(bool, progress, true, "append: show progress on a terminal");
ABSL_FLAG(bool, show_not_applicable, false, "check: also list rules that do not apply");
ABSL_FLAG(std::string, declared_values, "",
          "check: a JSON file {\"declaredValues\": [{\"lotId\", \"valueMinor\", \"currency\", "
          "\"content\": [{\"country\", \"material\", \"valueMinor\"}]}]} for the rules "
          "defined on value");
ABSL_FLAG(std::string, head_file, "", "verify: a head saved with 'lodectl head --json'");
ABSL_FLAG(std::vector<std::string>, positions, {}, "verify: positions to prove included");
ABSL_FLAG(std::string, signing_key, "",
          "append: sign every event with this Ed25519 private key (PEM, from lodectl keygen)");
ABSL_FLAG(std::string, attester, "",
          "append --signing_key: the signing party (default: the party of --tls_cert)");
ABSL_FLAG(std::string, key_out, "", "keygen: write the new private key here (mode 0600)");
ABSL_FLAG(std::string, actor, "lodestone-admin",
          "keygen: the administrator or registrar who appends the registration");
ABSL_FLAG(std::string, replaces_key_id, "", "keygen: the key the new key rotates out");
ABSL_FLAG(std::string, save_evidence, "",
          "verify event: save the proofs checked to this file, for offline verification");
ABSL_FLAG(std::string, http_server, "http://127.0.0.1:7480",
          "epcis: the ledger's HTTP port (http://host:port, or https:// with the --tls_* files)");
ABSL_FLAG(std::string, lot, "", "epcis export: the lot whose history is exported");
ABSL_FLAG(std::string, out, "", "epcis export: write the document here (default stdout)");
ABSL_FLAG(uint32_t, backup_id, 0, "restore: the backup to restore (0 = the latest)");
ABSL_FLAG(std::string, evidence, "",
          "verify event: check saved evidence offline (no server is contacted)");

namespace {

constexpr char kUsageText[] = R"(lodectl: query and feed a Lodestone ledger.

usage: lodectl [flags] COMMAND [ARGS]

commands:
  append FILE|-              append NDJSON events (one lodestone.v1.Event per line, JSON);
                             --signing_key=KEY.pem signs each one (--attester=PARTY)
  keygen PARTY               a new Ed25519 signing key to --key_out; prints its registration
  lot LOT                    a lot: state, location, custodian, origin profile
  trace LOT                  upstream lineage (--json, --dot, --svg FILE, --depth N)
  downstream LOT             every lot and shipment holding material from LOT
  shipment SHIPMENT...       declared versus traced origin, route, flags
  flags                      raised flags (--rule_set, --country, --material, --from, --to)
  check lot|shipment ID      verdicts per rule as of --as_of (exit 6 when a rule fails)
  exposure PARTY             what PARTY received --from/--to, with EU CRMA concentration
  history lot|shipment ID    the positions where its answer changed, newest first (--max_entries,
                             --page_token, --all; --as_of [--rule_set] for verdicts per version)
  head                       the ledger head (--json to save it for verify)
  health [SERVICE]           the standard health check (grpc.health.v1; exit 3 unless SERVING)
  backup [views]             an online backup of the ledger node (or of a provenance replica's
                             views) into its --backup_dir
  backups DIR                the backups in a backup directory (local)
  restore DIR DATA_DIR       backup --backup_id (default the latest) into a new DATA_DIR (local):
                             a ledger's is verified before it says OK (exit 7 if it does not
                             verify); views resume folding from their checkpoint
  epcis import FILE|-        capture an EPCIS 2.0 document over --http_server (--batch_events
                             per capture; errors name the line, event index and JSON Pointer)
  epcis export               an EPCIS 2.0 document of --lot's history and/or --from/--to
                             (--out FILE)
  verify                     check --head_file against the ledger (--positions P,...)
  verify event ID            the event's inclusion in --head_file and its signature under the
                             key valid at its position (--save_evidence F; --evidence F offline)

Every query takes --at_position=N: the answer as the ledger stood after its first N events
(positions 0..N-1), e.g. before a correction; 0 (the default) is now.

TLS: --tls_ca=CA.pem (and --tls_cert/--tls_key when the server requires client certificates).

exit codes: 0 ok, 1 failure, 2 usage, 3 server unreachable, 4 invalid input,
            5 not found, 6 rule failed, 7 verification failed
)";

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsageText);
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  using namespace lodestone::lodectl;
  if (positional.size() < 2) {
    std::cerr << kUsageText;
    return lodestone::lodectl::kUsage;
  }
  Options options;
  options.server = absl::GetFlag(FLAGS_server);
  const lodestone::rpc::TlsFiles tls{absl::GetFlag(FLAGS_tls_cert), absl::GetFlag(FLAGS_tls_key),
                                     absl::GetFlag(FLAGS_tls_ca)};
  if (!tls.cert.empty() || !tls.key.empty() || !tls.ca.empty()) {
    if (tls.cert.empty() != tls.key.empty()) {
      std::cerr << "lodectl: --tls_cert and --tls_key go together\n";
      return lodestone::lodectl::kUsage;
    }
    auto credentials = lodestone::rpc::ClientTlsCredentials(tls);
    if (!credentials.ok()) {
      std::cerr << "lodectl: " << credentials.status().message() << "\n";
      return lodestone::lodectl::kUsage;
    }
    options.credentials = *std::move(credentials);
  } else if (!absl::GetFlag(FLAGS_tls_server_name).empty()) {
    std::cerr << "lodectl: --tls_server_name needs TLS (--tls_ca or --tls_cert/--tls_key)\n";
    return lodestone::lodectl::kUsage;
  }
  options.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  options.min_position = absl::GetFlag(FLAGS_min_position);
  options.at_position = absl::GetFlag(FLAGS_at_position);
  options.max_entries = absl::GetFlag(FLAGS_max_entries);
  options.page_token = absl::GetFlag(FLAGS_page_token);
  options.all = absl::GetFlag(FLAGS_all);
  options.deadline_ms = absl::GetFlag(FLAGS_deadline_ms);
  options.json = absl::GetFlag(FLAGS_json);
  options.dot = absl::GetFlag(FLAGS_dot);
  options.svg = absl::GetFlag(FLAGS_svg);
  options.depth = absl::GetFlag(FLAGS_depth);
  options.max_nodes = absl::GetFlag(FLAGS_max_nodes);
  options.rule_sets = absl::GetFlag(FLAGS_rule_set);
  options.as_of = absl::GetFlag(FLAGS_as_of);
  options.country = absl::GetFlag(FLAGS_country);
  options.material = absl::GetFlag(FLAGS_material);
  options.from = absl::GetFlag(FLAGS_from);
  options.to = absl::GetFlag(FLAGS_to);
  options.batch_events = std::max<size_t>(1, absl::GetFlag(FLAGS_batch_events));
  options.progress = absl::GetFlag(FLAGS_progress);
  options.show_not_applicable = absl::GetFlag(FLAGS_show_not_applicable);
  options.declared_values = absl::GetFlag(FLAGS_declared_values);
  options.head_file = absl::GetFlag(FLAGS_head_file);
  options.signing_key = absl::GetFlag(FLAGS_signing_key);
  options.attester = absl::GetFlag(FLAGS_attester);
  options.key_out = absl::GetFlag(FLAGS_key_out);
  options.actor = absl::GetFlag(FLAGS_actor);
  options.replaces_key_id = absl::GetFlag(FLAGS_replaces_key_id);
  options.save_evidence = absl::GetFlag(FLAGS_save_evidence);
  options.evidence = absl::GetFlag(FLAGS_evidence);
  options.http_server = absl::GetFlag(FLAGS_http_server);
  options.tls_files = tls;
  options.lot = absl::GetFlag(FLAGS_lot);
  options.out = absl::GetFlag(FLAGS_out);
  if (options.attester.empty() && !tls.cert.empty()) {
    // The party of the client certificate, which is who the ledger takes as the attester.
    std::ifstream file(tls.cert, std::ios::binary);
    std::stringstream pem;
    pem << file.rdbuf();
    auto caller = lodestone::rpc::CallerFromCertificatePem(pem.str());
    if (caller.ok() && caller->kind == lodestone::rpc::Caller::Kind::kParty) {
      options.attester = caller->id;
    }
  }
  for (const auto& p : absl::GetFlag(FLAGS_positions)) {
    uint64_t position;
    if (!absl::SimpleAtoi(p, &position)) {
      std::cerr << "lodectl: bad position " << p << "\n";
      return lodestone::lodectl::kUsage;
    }
    options.positions.push_back(position);
  }
  Client client(options);
  const std::string command = positional[1];
  std::vector<std::string> args(positional.begin() + 2, positional.end());
  auto need = [&](size_t n) {
    if (args.size() >= n) return true;
    std::cerr << "lodectl: " << command << " needs " << n << " argument(s)\n" << kUsageText;
    return false;
  };
  if (command == "append") {
    if (!need(1)) return kUsage;
    std::optional<EventSigner> signer;
    if (!options.signing_key.empty()) {
      auto loaded = EventSigner::Load(options.signing_key, options.attester);
      if (!loaded.ok()) {
        std::cerr << "lodectl: " << loaded.status().message() << "\n";
        return loaded.status().code() == absl::StatusCode::kNotFound ? kInvalidInput : kUsage;
      }
      signer.emplace(*std::move(loaded));
    }
    return Append(client, args[0], signer.has_value() ? &*signer : nullptr, std::cout);
  }
  if (command == "keygen") return need(1) ? Keygen(options, args[0], std::cout) : kUsage;
  if (command == "lot") return need(1) ? ShowLot(client, args[0], std::cout) : 2;
  if (command == "trace") return need(1) ? Trace(client, args[0], std::cout) : 2;
  if (command == "downstream") return need(1) ? Downstream(client, args[0], std::cout) : 2;
  if (command == "shipment") return need(1) ? ShowShipment(client, args, std::cout) : 2;
  if (command == "flags") return ListFlags(client, std::cout);
  if (command == "check") {
    if (!need(2) || (args[0] != "lot" && args[0] != "shipment")) {
      std::cerr << "lodectl: check lot|shipment ID --as_of=YYYY-MM-DD\n";
      return 2;
    }
    return Check(client, args[0], args[1], std::cout);
  }
  if (command == "exposure") return need(1) ? Exposure(client, args[0], std::cout) : 2;
  if (command == "history") {
    if (!need(2) || (args[0] != "lot" && args[0] != "shipment")) {
      std::cerr << "lodectl: history lot|shipment ID\n";
      return 2;
    }
    if (options.all && !options.page_token.empty()) {
      std::cerr << "lodectl: history: --all and --page_token exclude each other\n";
      return 2;
    }
    return History(client, args[0], args[1], std::cout);
  }
  if (command == "head") return Head(client, std::cout);
  if (command == "health") return Health(client, args.empty() ? "" : args[0], std::cout);
  if (command == "backup") {
    if (args.size() > 1 || (args.size() == 1 && args[0] != "views")) return kUsage;
    return args.empty() ? Backup(client, std::cout) : BackupViews(client, std::cout);
  }
  if (command == "backups") return need(1) ? ListBackups(args[0], std::cout) : kUsage;
  if (command == "restore") {
    return need(2) ? Restore(args[0], absl::GetFlag(FLAGS_backup_id), args[1], std::cout) : kUsage;
  }
  if (command == "epcis") {
    if (!args.empty() && args[0] == "import" && args.size() == 2) {
      return EpcisImport(options, args[1], std::cout);
    }
    if (!args.empty() && args[0] == "export" && args.size() == 1) {
      return EpcisExport(options, std::cout);
    }
    std::cerr << "lodectl: epcis import FILE|- | epcis export [--lot=LOT] [--from] [--to]\n";
    return kUsage;
  }
  if (command == "verify") {
    if (!args.empty() && args[0] == "event") {
      return args.size() == 2 ? VerifyEvent(client, args[1], std::cout) : (need(2), kUsage);
    }
    return Verify(client, std::cout);
  }
  std::cerr << "lodectl: unknown command " << command << "\n" << kUsageText;
  return 2;
}
