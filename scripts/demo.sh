#!/bin/sh
# The README's first command ends here: analyze the bundled sample package and print the summary.
set -eu
bin=${1:-build/scriptbox}
echo "\$ $bin analyze examples/sample-telemetry-1.0.0.tgz"
# Exit 1 means "findings at or above --fail-on": a result to show, not a failed demo.
"$bin" analyze examples/sample-telemetry-1.0.0.tgz || [ $? -eq 1 ]
