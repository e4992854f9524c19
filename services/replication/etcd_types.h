// Plain types of the etcd client (no gRPC, no etcd protos), and its limits.
#ifndef LODESTONE_SERVICES_REPLICATION_ETCD_TYPES_H_
#define LODESTONE_SERVICES_REPLICATION_ETCD_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace lodestone::replication {

// A value (Put, or a put in a Txn) larger than this is INVALID_ARGUMENT and is not sent.
inline constexpr size_t kMaxValueBytes = size_t{1} << 20;
// etcd's default --max-request-bytes (1.5 MiB) less room for the header etcd adds to the raft
// entry. A Put or Txn whose encoded request is larger is INVALID_ARGUMENT and is not sent.
inline constexpr size_t kMaxRequestBytes = (size_t{3} << 19) - 1024;
// etcd's default --max-txn-ops: compares plus operations of one Txn. More is INVALID_ARGUMENT.
inline constexpr size_t kMaxTxnOps = 128;
// Keys per GetPrefix page; a larger or non-positive limit is clamped to this. A page whose reply
// would exceed the client's receive limit (EtcdClientOptions::max_receive_bytes) is re-read with
// half the limit, down to one key, so a page is never refused for its size.
inline constexpr int64_t kMaxPageKeys = 1000;
// The default receive limit, and the smallest allowed (one key of the largest request fits).
inline constexpr int kDefaultMaxReceiveBytes = 64 << 20;
inline constexpr int kMinReceiveBytes = 2 << 20;

// One key as etcd stores it.
struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;  // revision that created the key (since its last deletion)
  int64_t mod_revision = 0;     // revision of its last modification
  int64_t version = 0;          // number of modifications since creation (1 after creation)
  int64_t lease = 0;            // 0: no lease
};

// One page of a prefix read, all at one store revision.
struct RangeResult {
  std::vector<KeyValue> kvs;  // in key order
  bool more = false;          // further keys match; continue from kvs.back().key + '\0'
  int64_t revision = 0;       // the store revision the page was read at
};

// One condition of a Txn. A key that does not exist has version, create_revision and
// mod_revision 0; a value comparison on a missing key is false.
struct Compare {
  enum class Target { kValue, kVersion, kCreateRevision, kModRevision };
  enum class Op { kEqual, kNotEqual, kGreater, kLess };

  std::string key;
  Target target = Target::kVersion;
  Op op = Op::kEqual;
  std::string value;   // for kValue
  int64_t number = 0;  // for kVersion, kCreateRevision, kModRevision

  static Compare ValueEquals(std::string_view key, std::string_view value);
  static Compare VersionEquals(std::string_view key, int64_t version);  // 0: key absent
  static Compare CreateRevisionEquals(std::string_view key, int64_t revision);
  static Compare ModRevisionEquals(std::string_view key, int64_t revision);
};

// One write of a Txn's success branch.
struct TxnOp {
  enum class Type { kPut, kDelete, kDeletePrefix, kDeleteRange };

  Type type = Type::kPut;
  std::string key;    // the key, the prefix for kDeletePrefix, the first key for kDeleteRange
  std::string value;  // the value for kPut, the end (exclusive) for kDeleteRange
  int64_t lease = 0;

  static TxnOp Put(std::string_view key, std::string_view value, int64_t lease = 0);
  static TxnOp Delete(std::string_view key);
  static TxnOp DeletePrefix(std::string_view prefix);
  static TxnOp DeleteRange(std::string_view key, std::string_view range_end);  // [key, end)
};

struct TxnResult {
  bool succeeded = false;  // every compare held and the operations were applied
  int64_t revision = 0;    // header revision: of the writes if any, else the current one
};

struct Lease {
  int64_t id = 0;
  absl::Duration ttl;  // as granted by etcd (it may raise a TTL below its minimum)
};

// Leadership of an election (v3election): `key` is the campaign key (`<name>/<lease hex>`),
// `rev` its create revision, which is the fencing token: it changes with every new leader.
struct LeaderKey {
  std::string name;
  std::string key;
  int64_t rev = 0;
  int64_t lease = 0;
};

struct WatchEvent {
  enum class Type { kPut, kDelete, kCompacted };

  Type type = Type::kPut;
  std::string key;    // empty for kCompacted
  std::string value;  // empty for kDelete and kCompacted
  // The revision of the put or delete. For kCompacted: etcd's compaction revision, the oldest
  // revision still readable; the watcher stops after reporting it.
  int64_t mod_revision = 0;
};

// The smallest key greater than every key starting with `prefix` ("\0" for the empty prefix,
// meaning "all keys"), as etcd's range_end.
std::string PrefixRangeEnd(std::string_view prefix);

}  // namespace lodestone::replication

#endif  // LODESTONE_SERVICES_REPLICATION_ETCD_TYPES_H_
