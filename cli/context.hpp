// What every subcommand gets: the global options, the output, and the summary record
// that app.cpp emits last (with the exit code) in JSON mode.
#pragma once

#include "cli/json.hpp"
#include "cli/output.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vssimg::cli {

struct Context {
  GlobalOptions global;
  std::unique_ptr<Output> out;
  std::string command;
  JsonObject summary{"summary"};

  // The store path from --store / VSSIMG_STORE; Error(usage) if neither is given.
  std::filesystem::path store_path() const;
};

using CommandRunner = std::function<int(Context&)>;

// Each subcommand file adds its CLI11 subcommand and registers how to run it.
struct CommandTable {
  std::vector<std::pair<CLI::App*, CommandRunner>> entries;
  void add(CLI::App* app, CommandRunner run) { entries.emplace_back(app, std::move(run)); }
};

void add_init_command(CLI::App& app, CommandTable& table);
void add_backup_command(CLI::App& app, CommandTable& table);
void add_list_command(CLI::App& app, CommandTable& table);
void add_show_command(CLI::App& app, CommandTable& table);
void add_verify_command(CLI::App& app, CommandTable& table);
void add_restore_command(CLI::App& app, CommandTable& table);
void add_repair_command(CLI::App& app, CommandTable& table);
void add_forget_command(CLI::App& app, CommandTable& table);
void add_prune_command(CLI::App& app, CommandTable& table);
void add_heal_command(CLI::App& app, CommandTable& table);          // cmd_heal.cpp
void add_list_writers_command(CLI::App& app, CommandTable& table);  // cmd_list_writers.cpp
void add_snapshot_command(CLI::App& app, CommandTable& table);      // cmd_snapshot.cpp
void add_eventlog_command(CLI::App& app, CommandTable& table);      // cmd_eventlog.cpp
void add_ls_command(CLI::App& app, CommandTable& table);            // cmd_ls.cpp
void add_extract_command(CLI::App& app, CommandTable& table);       // cmd_extract.cpp
void add_mount_command(CLI::App& app, CommandTable& table);         // cmd_mount_posix/_win32.cpp
void add_export_command(CLI::App& app, CommandTable& table);        // cmd_export.cpp
void add_key_command(CLI::App& app, CommandTable& table);           // cmd_key.cpp
void add_copy_command(CLI::App& app, CommandTable& table);          // cmd_copy.cpp

// Entry point used by main(): parses, runs, maps errors to exit codes.
int run_cli(int argc, char** argv);

// The name a source is recorded under: a Windows volume as "C:" (or its volume GUID
// path), an existing local file or device path made absolute (so it matches from any
// working directory); anything else as given.
std::string normalize_source(const std::string& source);

}  // namespace vssimg::cli
