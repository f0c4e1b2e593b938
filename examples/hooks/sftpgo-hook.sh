#!/bin/sh
# An SFTPGo action hook, unchanged: it reads the positional arguments and the
# SFTPGO_ACTION_* variables SFTPGo documents. Hookwork's `preset: sftpgo`
# command target provides exactly these, so scripts like this one move over
# as they are.
#
# It appends what it received to $HOOK_LOG (one KEY=value per line) and, as a
# pre-upload gate, refuses uploads into a "forbidden" folder: exit 0 allows,
# anything else denies (SFTPGo's rule).

log="${HOOK_LOG:-/tmp/sftpgo-hook.log}"
{
  echo "argv_action=$1"
  echo "argv_username=$2"
  echo "argv_path=$3"
  echo "argv_target_path=$4"
  echo "argv_ssh_cmd=$5"
  echo "SFTPGO_ACTION=$SFTPGO_ACTION"
  echo "SFTPGO_ACTION_USERNAME=$SFTPGO_ACTION_USERNAME"
  echo "SFTPGO_ACTION_PATH=$SFTPGO_ACTION_PATH"
  echo "SFTPGO_ACTION_TARGET=$SFTPGO_ACTION_TARGET"
  echo "SFTPGO_ACTION_SSH_CMD=$SFTPGO_ACTION_SSH_CMD"
  echo "SFTPGO_ACTION_FILE_SIZE=$SFTPGO_ACTION_FILE_SIZE"
  echo "SFTPGO_ACTION_FS_PROVIDER=$SFTPGO_ACTION_FS_PROVIDER"
  echo "SFTPGO_ACTION_BUCKET=$SFTPGO_ACTION_BUCKET"
  echo "SFTPGO_ACTION_ENDPOINT=$SFTPGO_ACTION_ENDPOINT"
  echo "SFTPGO_ACTION_STATUS=$SFTPGO_ACTION_STATUS"
  echo "SFTPGO_ACTION_PROTOCOL=$SFTPGO_ACTION_PROTOCOL"
  echo "SFTPGO_ACTION_OPEN_FLAGS=$SFTPGO_ACTION_OPEN_FLAGS"
  echo "---"
} >> "$log"

case "$SFTPGO_ACTION" in
  pre-upload)
    case "$SFTPGO_ACTION_PATH" in
      */forbidden/*) echo "uploads into forbidden/ are refused" >&2; exit 1 ;;
    esac
    ;;
esac
exit 0
