#!/usr/bin/env bash
# The damage matrix (damage_matrix.py, which says what it checks) on the built binary.
source "$(dirname "$0")/lib.sh" "$1"
export VSSIMG_TEST_PACK_SIZE=256K
python3 "$(dirname "$0")/damage_matrix.py" "$VSSIMG" "$WORK"
