// The sanitized etcd protos compiled into lodestone_etcd_proto are etcd's wire: their
// descriptors, options aside, equal the descriptors etcd itself was generated from (the gzipped
// FileDescriptorProto embedded in each .pb.go file of golang-etcd-server-dev).
#include <zlib.h>

#include <fstream>
#include <sstream>
#include <string>

#include "etcd/auth/authpb/auth.pb.h"
#include "etcd/etcdserver/api/v3election/v3electionpb/v3election.pb.h"
#include "etcd/etcdserver/etcdserverpb/rpc.pb.h"
#include "etcd/mvcc/mvccpb/kv.pb.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace lodestone::replication {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::FileDescriptorProto;
using google::protobuf::Message;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The bytes of `var fileDescriptorX = []byte{ // N bytes of a gzipped ... 0x1f, 0x8b, ... }`.
std::string GzippedDescriptor(const std::string& go_source) {
  const size_t start = go_source.find("bytes of a gzipped FileDescriptorProto");
  if (start == std::string::npos) return "";
  const size_t end = go_source.find('}', start);
  std::string bytes;
  for (size_t at = go_source.find("0x", start); at < end; at = go_source.find("0x", at + 4)) {
    bytes.push_back(static_cast<char>(std::stoi(go_source.substr(at + 2, 2), nullptr, 16)));
  }
  return bytes;
}

std::string Gunzip(const std::string& data) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return "";
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buffer[16384];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  inflateEnd(&stream);
  return result == Z_STREAM_END ? out : "";
}

// Clears every `options` and `json_name` field, at any depth: what sanitizing may change.
void StripOptions(Message* message) {
  const auto* descriptor = message->GetDescriptor();
  const auto* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const FieldDescriptor* field = descriptor->field(i);
    if (field->name() == "options" || field->name() == "json_name") {
      reflection->ClearField(message, field);
    } else if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    } else if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(*message, field); ++j) {
        StripOptions(reflection->MutableRepeatedMessage(message, field, j));
      }
    } else if (reflection->HasField(*message, field)) {
      StripOptions(reflection->MutableMessage(message, field));
    }
  }
}

// The file's name and imports differ (paths; gogoproto and google.api are gone).
FileDescriptorProto Comparable(FileDescriptorProto file) {
  StripOptions(&file);
  file.clear_name();
  file.clear_dependency();
  file.clear_source_code_info();
  return file;
}

void ExpectSameWire(const std::string& go_file, const FileDescriptor* compiled) {
  const std::string go_path = std::string(ETCD_PROTO_ROOT) + "/" + go_file;
  FileDescriptorProto etcds;
  ASSERT_TRUE(etcds.ParseFromString(Gunzip(GzippedDescriptor(ReadFile(go_path))))) << go_path;
  ASSERT_GT(etcds.message_type_size(), 0) << go_path;
  FileDescriptorProto ours;
  compiled->CopyTo(&ours);

  std::string differences;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  EXPECT_TRUE(differencer.Compare(Comparable(etcds), Comparable(ours)))
      << compiled->name() << " differs from etcd's " << go_file << ":\n"
      << differences;
}

TEST(EtcdProtoTest, KvMatchesEtcd) {
  ExpectSameWire("mvcc/mvccpb/kv.pb.go", mvccpb::KeyValue::descriptor()->file());
}

TEST(EtcdProtoTest, AuthMatchesEtcd) {
  ExpectSameWire("auth/authpb/auth.pb.go", authpb::User::descriptor()->file());
}

TEST(EtcdProtoTest, RpcMatchesEtcd) {
  const FileDescriptor* rpc = etcdserverpb::RangeRequest::descriptor()->file();
  ExpectSameWire("etcdserver/etcdserverpb/rpc.pb.go", rpc);
  EXPECT_EQ(rpc->service_count(), 6);  // KV, Watch, Lease, Cluster, Maintenance, Auth
}

TEST(EtcdProtoTest, ElectionMatchesEtcd) {
  ExpectSameWire("etcdserver/api/v3election/v3electionpb/v3election.pb.go",
                 v3electionpb::LeaderKey::descriptor()->file());
}

}  // namespace
}  // namespace lodestone::replication
