#!/usr/bin/env bash
# stage.sh NAME COMMAND...: runs COMMAND, then prints how long stage NAME took and how it ended;
# with DPSIM_STAGES set, also appends "NAME SECONDS EXIT" to that file (.ci/run prints the table).
name=$1; shift
start=$(date +%s)
"$@"; rc=$?
took=$(( $(date +%s) - start ))
echo "stage $name: ${took}s, exit $rc"
[ -n "${DPSIM_STAGES:-}" ] && echo "$name $took $rc" >>"$DPSIM_STAGES"
exit $rc
