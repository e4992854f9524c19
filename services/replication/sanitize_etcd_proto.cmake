# Writes a copy of one of etcd's .proto files that protoc can compile without gogoproto and the
# google.api annotations (neither exists as a C++ proto on Debian). Only options are removed:
# packages, messages, field names and field numbers stay exactly etcd's, because they are the wire.
#
#   cmake -DIN=<etcd .proto> -DOUT=<sanitized .proto> -P sanitize_etcd_proto.cmake
if(NOT IN OR NOT OUT)
  message(FATAL_ERROR "usage: cmake -DIN=<file> -DOUT=<file> -P sanitize_etcd_proto.cmake")
endif()
file(READ "${IN}" content)

# import "gogoproto/gogo.proto"; and import "google/api/annotations.proto";
string(REGEX REPLACE "import \"(gogoproto|google/api)/[^\"]*\";" "" content "${content}")
# File-level options: option (gogoproto.marshaler_all) = true;
string(REGEX REPLACE "option \\(gogoproto\\.[A-Za-z_]+\\) *= *[^;]*;" "" content "${content}")
# Field options: a gogoproto option among others, then a bracket holding only gogoproto options.
string(REGEX REPLACE ", *\\(gogoproto\\.[A-Za-z_]+\\) *= *[^],]*" "" content "${content}")
string(REGEX REPLACE "\\(gogoproto\\.[A-Za-z_]+\\) *= *[^],]*, *" "" content "${content}")
string(REGEX REPLACE " *\\[\\(gogoproto\\.[A-Za-z_]+\\) *= *[^]]*\\]" "" content "${content}")
# RPC options for grpc-gateway: option (google.api.http) = { post: "/v3/kv/range" body: "*" };
# The block may nest one level (additional_bindings { ... }).
string(REGEX REPLACE "option \\(google\\.api\\.http\\) *= *{([^{}]|{[^{}]*})*} *;" ""
       content "${content}")

# Refuse to produce a file that still mentions what protoc cannot resolve (comments aside).
string(REGEX REPLACE "//[^\n]*" "" code "${content}")
if(code MATCHES "gogoproto|google\\.api|google/api")
  message(FATAL_ERROR "sanitize_etcd_proto: ${IN} still refers to gogoproto or google.api after "
                      "sanitizing; its options changed shape, extend the patterns above")
endif()
file(WRITE "${OUT}" "// Generated from ${IN} by sanitize_etcd_proto.cmake: options removed only.\n")
file(APPEND "${OUT}" "${content}")
