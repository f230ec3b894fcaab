/* A stand-in for vssimg.exe in tests/windows/test_batch.sh: appends its arguments to
 * %FAKE_ARGS_LOG% and exits with %FAKE_BACKUP%, %FAKE_FORGET% or %FAKE_VERIFY% for
 * those subcommands, so every exit-code branch of nightly-backup.cmd can be driven. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  const char* log_path = getenv("FAKE_ARGS_LOG");
  FILE* log = log_path ? fopen(log_path, "a") : NULL;
  int code = 0;
  for (int i = 1; i < argc; ++i) {
    const char* v = NULL;
    if (log) fprintf(log, "%s%s", i > 1 ? " " : "", argv[i]);
    if (strcmp(argv[i], "backup") == 0) v = getenv("FAKE_BACKUP");
    else if (strcmp(argv[i], "forget") == 0) v = getenv("FAKE_FORGET");
    else if (strcmp(argv[i], "verify") == 0) v = getenv("FAKE_VERIFY");
    if (v) code = atoi(v);
  }
  if (log) {
    fputc('\n', log);
    fclose(log);
  }
  return code;
}
