#!/bin/bash
# A CI step as most are written: bash running a script file, which bash keeps
# open on fd 255 until it ends. It changes directory and runs an external
# command in a command substitution. Usage: shell_step.sh INPUT
cd / || exit 1
lines=$(wc -l < "$1")
echo "input: $lines lines"
