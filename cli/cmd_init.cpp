#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/parse.hpp"
#include "cli/password.hpp"
#include "core/base/crypto.hpp"
#include "core/os/platform.hpp"
#include "core/os/path.hpp"
#include "image/store.hpp"

#include <fmt/format.h>

#include <optional>

namespace vssimg::cli {

namespace {
struct InitOptions {
  std::string block_size;
  bool encrypt = false;
  std::string kdf_memory = "64M";  // Argon2id memory of the first key
  unsigned kdf_passes = 3;
};

// The Argon2id cost of the first key file, within the bounds every build accepts.
PwhashParams kdf_params(const InitOptions& opts) {
  PwhashParams p;
  p.mem_bytes = parse_size(opts.kdf_memory, "--kdf-memory");
  p.ops = opts.kdf_passes;
  if (!pwhash_params_sane(p)) {
    throw Error(ErrorKind::usage, "creating store", "--kdf-memory/--kdf-passes",
                "Argon2id needs 1 to 64 passes and 8K to 4G of memory");
  }
  return p;
}

int run_init(Context& ctx, const InitOptions& opts) {
  auto path = ctx.store_path();
  const std::string name = path_to_utf8(path);
  uint64_t bs =
      opts.block_size.empty() ? k_default_block_size : parse_size(opts.block_size, "--block-size");
  if (!valid_block_size(bs)) {
    throw Error(ErrorKind::usage, "creating store", name,
                fmt::format("block size {} is not a power of two from 64K to 4M", bs));
  }
  std::optional<NewStoreKey> key;
  if (opts.encrypt) {
    key.emplace();
    key->password = read_new_password(PasswordSource{ctx.global.password_file}, name);
    key->host = host_name();
    key->params = kdf_params(opts);
  }
  Store::create(path, static_cast<uint32_t>(bs), key ? &*key : nullptr);
  if (key) secure_wipe(key->password.data(), key->password.size());
  Store store(path);
  const char* what = opts.encrypt ? "encrypted store" : "store";
  ctx.out->text(fmt::format("created {} {} (block size {})", what, name, human_bytes(bs)));
  ctx.out->log(fmt::format("init: created {} {} (block size {})", what, name, bs));
  ctx.out->record(
      JsonObject("status").add("store", name).add("block_size", bs).add("encrypted", opts.encrypt));
  ctx.summary.add("store", name).add("block_size", bs).add("encrypted", opts.encrypt);
  return k_exit_ok;
}
}  // namespace

void add_init_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<InitOptions>();
  auto* sub = app.add_subcommand("init", "Create a new store");
  sub->add_option("--block-size", opts->block_size,
                  "Block size, a power of two from 64K to 4M (default 256K; 128K dedups better for "
                  "volumes up to ~2 TB)");
  sub->add_flag("--encrypt", opts->encrypt,
                "Encrypt everything in the store (XChaCha20-Poly1305; the password from "
                "--password-file, VSSIMG_PASSWORD_FILE, the console, or VSSIMG_PASSWORD)");
  sub->add_option("--kdf-memory", opts->kdf_memory,
                  "Encrypted store: Argon2id memory of the first key (default 64M)");
  sub->add_option("--kdf-passes", opts->kdf_passes,
                  "Encrypted store: Argon2id passes of the first key (default 3)");
  table.add(sub, [opts](Context& ctx) { return run_init(ctx, *opts); });
}

}  // namespace vssimg::cli
