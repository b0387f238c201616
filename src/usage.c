/* usage.c — the --help text; keep it in step with README.md. */
#include "commands.h"

void usage_print(FILE *out)
{
    fputs(
        "usage: scriptbox analyze TARGET [options]\n"
        "       scriptbox sandbox --print-policy\n"
        "       scriptbox --help | --version\n"
        "\n"
        "Runs what an npm package does when it is installed (its preinstall, install and\n"
        "postinstall scripts, or the implicit node-gyp rebuild) inside a sandbox with fake\n"
        "secrets and a fake internet (nothing leaves), and reports what it tried to do and\n"
        "which secrets it sent out.\n"
        "\n"
        "TARGET     a package tarball (.tgz) or a package folder\n"
        "\n"
        "options:\n"
        "  --format text|json|sarif   report format (default text)\n"
        "  --output FILE              write the report to FILE instead of stdout\n"
        "  --events FILE              save the event stream (JSON Lines) to FILE\n"
        "  --timeout SECONDS          wall-clock limit for the whole run (default 120)\n"
        "  --grace SECONDS            how long processes left behind may go on after the last\n"
        "                             script before they are killed (default 3)\n"
        "  --fail-on SEVERITY         exit 1 when a finding is at or above this severity:\n"
        "                             info|low|medium|high|critical (default high)\n"
        "  --keep-workdir             keep the run's work folder and print its path\n"
        "  --trace all|default        all: log every system call, not just the observed set\n"
        "                             (deep triage; much slower)\n"
        "  --ci                       look like a CI job (CI=true, GITHUB_ACTIONS, RUNNER_*,\n"
        "                             GITHUB_*; its tokens are canaries too)\n"
        "  --max-entries N            refuse archives with more entries (default 99999)\n"
        "  --max-total-bytes N        refuse archives holding more bytes (default 512 MiB)\n"
        "  --max-file-bytes N         refuse archives with a larger file (default 256 MiB)\n"
        "\n"
        "exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error,\n"
        "            3 sandbox or internal error, 128+N interrupted by signal N\n",
        out);
}
