// `vssimg key list|add|remove|passwd`: the key files of an encrypted store (image/keys.hpp).
// None of them touches data: every key file wraps the same master key.
#include "cli/lock_options.hpp"
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/password.hpp"
#include "core/base/error.hpp"
#include "core/os/path.hpp"
#include "core/os/platform.hpp"
#include "image/lock.hpp"
#include "image/config.hpp"
#include "image/keys.hpp"
#include "image/keys_dpapi.hpp"
#include "image/storage_open.hpp"

#include <fmt/format.h>

namespace vssimg::cli {

namespace {

struct KeyOptions {
  std::string new_password_file;
  std::string name;    // key remove
  bool dpapi = false;  // key add --dpapi
};

// The storage and config of an encrypted store; Error(usage) for a plain store.
struct OpenedStore {
  std::unique_ptr<Storage> storage;
  StoreConfig config;
  std::string name;
};

OpenedStore open_encrypted(Context& ctx) {
  OpenedStore s;
  auto path = ctx.store_path();
  s.name = path_to_utf8(path);
  s.storage = open_storage(s.name);
  auto bytes = s.storage->read_all(ObjectRef{ObjectKind::config, ""}, 4096);
  s.config =
      decode_config(bytes.data(), bytes.size(), s.storage->describe({ObjectKind::config, ""}),
                    k_known_required_features | k_feature_encrypted);
  if ((s.config.required_features & k_feature_encrypted) == 0) {
    throw Error(ErrorKind::usage, "managing keys", s.name,
                "the store is not encrypted (it has no keys)");
  }
  return s;
}

int run_key_list(Context& ctx) {
  OpenedStore s = open_encrypted(ctx);
  for (const KeyEntry& e : list_keys(*s.storage)) {
    if (!e.key) {
      ctx.out->text(fmt::format("{}  damaged: {}", e.name, e.error));
      ctx.out->record(JsonObject("status").add("key", e.name).add("error", e.error));
      continue;
    }
    const bool dpapi = e.key->protection == k_key_protection_dpapi;
    const std::string how = dpapi ? std::string("dpapi (opens on the machine that added it)")
                                  : fmt::format("password argon2id {} passes {} MiB",
                                                e.key->params.ops, e.key->params.mem_bytes >> 20);
    ctx.out->text(
        fmt::format("{}  {}  {}  {}", e.name, local_time(e.key->created), e.key->host, how));
    ctx.out->record(JsonObject("status")
                        .add("key", e.name)
                        .add("protection", key_protection_name(e.key->protection))
                        .add_time("created", e.key->created)
                        .add("host", e.key->host));
  }
  return k_exit_ok;
}

std::string new_password(const KeyOptions& opts, const std::string& store) {
  if (!opts.new_password_file.empty()) return read_password_file(opts.new_password_file);
  auto first = prompt_password("new password for " + store + ": ");
  if (!first) {
    throw Error(ErrorKind::key_refused, "reading new password", store,
                "no new password given (use --new-password-file or a console)");
  }
  auto again = prompt_password("repeat the new password: ");
  if (first->empty() || !again || *again != *first) {
    throw Error(ErrorKind::key_refused, "reading new password", store,
                "the two entries differ or are empty");
  }
  return *first;
}

// Adds a key with a new password; `passwd` then removes the key that opened the store.
// `key add --dpapi`: the password opens the master key once; DPAPI protects it from then on.
int run_key_add(Context& ctx, const KeyOptions& opts, bool passwd) {
  OpenedStore s = open_encrypted(ctx);
  const bool dpapi = opts.dpapi && !passwd;
  if (dpapi && !dpapi_available()) {
    throw Error(ErrorKind::usage, "adding DPAPI key", s.name, "DPAPI keys exist only on Windows");
  }
  std::string opened;
  MasterKey master =
      unlock_store(*s.storage, s.config.store_id,
                   read_password(PasswordSource{ctx.global.password_file}, s.name), &opened);
  const std::string fresh = dpapi ? std::string() : new_password(opts, s.name);
  StoreLock lock(*s.storage, LockMode::exclusive, WriterLock::none,
                 passwd ? "key passwd" : "key add", lock_options(ctx, StoreAccess::write));
  std::string added =
      dpapi ? add_dpapi_key(*s.storage, master, s.config.store_id, host_name(), now_unix())
            : add_key(*s.storage, master, s.config.store_id, fresh, host_name(), now_unix());
  if (passwd) remove_key(*s.storage, opened);
  ctx.out->text(passwd ? fmt::format("replaced key {} by {}", opened, added)
                       : fmt::format("added key {}", added));
  ctx.out->record(JsonObject("status").add("key", added));
  ctx.summary.add("key", added);
  return k_exit_ok;
}

int run_key_remove(Context& ctx, const KeyOptions& opts) {
  OpenedStore s = open_encrypted(ctx);
  // Only a holder of the store's password may remove one of its keys.
  unlock_store(*s.storage, s.config.store_id,
               read_password(PasswordSource{ctx.global.password_file}, s.name));
  StoreLock lock(*s.storage, LockMode::exclusive, WriterLock::none, "key remove",
                 lock_options(ctx, StoreAccess::write));
  std::string removed = remove_key(*s.storage, opts.name);
  ctx.out->text(fmt::format("removed key {}", removed));
  ctx.out->record(JsonObject("status").add("removed", removed));
  return k_exit_ok;
}

}  // namespace

void add_key_command(CLI::App& app, CommandTable& table) {
  auto opts = std::make_shared<KeyOptions>();
  auto* key = app.add_subcommand("key", "The keys of an encrypted store");
  key->require_subcommand(1);
  auto* list = key->add_subcommand("list", "List the store's key files");
  auto* add = key->add_subcommand("add", "Add a key file with a new password");
  auto* remove = key->add_subcommand("remove", "Remove a key file (never the last one)");
  auto* passwd = key->add_subcommand("passwd", "Change the password of the key that opens");
  for (auto* sub : {add, passwd}) {
    sub->add_option("--new-password-file", opts->new_password_file,
                    "File whose first line is the new password (else asked twice on the console)");
  }
  add->add_flag("--dpapi", opts->dpapi,
                "Windows: a key protected by this machine's DPAPI (no password needed here)")
      ->excludes(add->get_option("--new-password-file"));
  remove->add_option("KEY", opts->name, "Key name or a prefix of its hex digits")->required();
  table.add(key, [opts, list, add, passwd](Context& ctx) {
    if (list->parsed()) return run_key_list(ctx);
    if (add->parsed()) return run_key_add(ctx, *opts, false);
    if (passwd->parsed()) return run_key_add(ctx, *opts, true);
    return run_key_remove(ctx, *opts);
  });
}

}  // namespace vssimg::cli
