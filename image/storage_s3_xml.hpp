// The XML of S3 responses (ListObjectsV2 results and error bodies). Untrusted input: a
// small checking scanner, never a crash or a hang on any bytes (tests/fuzz/fuzz_s3_xml.cpp).
#pragma once

#include "image/storage_s3_http.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vssimg::s3 {

struct ListPage {
  std::vector<std::pair<std::string, uint64_t>> objects;  // key, size
  std::vector<int64_t> modified;      // per object: LastModified in Unix seconds, -1 if absent
  std::vector<std::string> prefixes;  // CommonPrefixes
  bool truncated = false;
  std::string next_token;  // NextContinuationToken
};

// Parses a ListBucketResult. Throws Error(failure) naming `object` when it is not one.
ListPage parse_list_page(std::string_view xml, const std::string& object);
// An ISO 8601 time in UTC as S3 writes LastModified ("2026-12-02T16:20:00.000Z"):
// Unix seconds, or -1 when `text` is not one.
int64_t parse_iso8601(std::string_view text);
// The Code and Message of an Error body; both empty when `xml` is not one (never throws).
S3Error parse_error(std::string_view xml);
// The keys and codes of the <Error> entries of a DeleteObjects result. Throws
// Error(failure) naming `object` when `xml` is not a DeleteResult.
std::vector<std::pair<std::string, std::string>> parse_delete_errors(std::string_view xml,
                                                                     const std::string& object);
// Text made safe inside an XML element.
std::string xml_escape(std::string_view text);

}  // namespace vssimg::s3
