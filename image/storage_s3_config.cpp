// s3://BUCKET/PREFIX and the AWS environment → an S3Storage: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION,
// AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, and the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or "default").
#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/process.hpp"
#include "image/storage_open.hpp"
#include "image/storage_s3.hpp"

#include <fstream>

namespace vssimg {

namespace {

std::string env(const char* name) {
  return utf8_environment_variable(name).value_or("");
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

// The keys of one profile of the shared credentials file (nothing when it is missing).
void read_credentials_file(s3::Credentials& c) {
  std::string file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    std::string home = env("HOME");
    if (home.empty()) home = env("USERPROFILE");
    if (home.empty()) return;
    file = home + "/.aws/credentials";
  }
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::ifstream in(path_from_utf8(file));
  bool mine = false;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      mine = trim(line.substr(1, line.find(']') - 1)) == profile;
      continue;
    }
    const size_t eq = line.find('=');
    if (!mine || eq == std::string::npos) continue;
    const std::string k = trim(line.substr(0, eq)), v = trim(line.substr(eq + 1));
    if (k == "aws_access_key_id") c.access_key = v;
    if (k == "aws_secret_access_key") c.secret_key = v;
    if (k == "aws_session_token") c.session_token = v;
  }
}

s3::Credentials credentials(const std::string& url) {
  s3::Credentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"),
                    env("AWS_SESSION_TOKEN")};
  if (c.access_key.empty() || c.secret_key.empty()) {
    c = {};
    read_credentials_file(c);
  }
  if (c.access_key.empty() || c.secret_key.empty()) {
    throw Error(ErrorKind::privilege, "opening store", url,
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "write them to ~/.aws/credentials");
  }
  return c;
}

}  // namespace

std::unique_ptr<Storage> open_s3_storage(const std::string& url, bool create,
                                         const StorageOptions& options) {
  std::string rest = url.substr(5);  // after "s3://"
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t slash = rest.find('/');
  s3::Config cfg;
  cfg.bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (cfg.bucket.empty() || prefix.find("//") != std::string::npos) {
    throw Error(ErrorKind::usage, "opening store", url,
                "not an S3 location (expected s3://BUCKET or s3://BUCKET/PREFIX)");
  }
  cfg.region = env("AWS_REGION");
  if (cfg.region.empty()) cfg.region = env("AWS_DEFAULT_REGION");
  if (cfg.region.empty()) cfg.region = "us-east-1";
  cfg.endpoint = env("AWS_ENDPOINT_URL_S3");
  if (cfg.endpoint.empty()) cfg.endpoint = env("AWS_ENDPOINT_URL");
  cfg.path_style = options.s3_path_style || !cfg.endpoint.empty();
  if (cfg.endpoint.empty()) cfg.endpoint = "https://s3." + cfg.region + ".amazonaws.com";
  if (cfg.endpoint.find("://") == std::string::npos) {
    throw Error(ErrorKind::usage, "opening store", url,
                "AWS_ENDPOINT_URL " + cfg.endpoint + " is not a URL (http://HOST:PORT)");
  }
  cfg.creds = credentials(url);
  cfg.sink = options.sink;
  if (options.connections) cfg.connections = options.connections;
  auto storage = std::make_unique<S3Storage>(std::move(cfg), prefix);
  if (create) {
    storage->create_store();
  } else {
    storage->check_store();
  }
  return storage;
}

}  // namespace vssimg
