#!/bin/bash
#
# pvctl on a terminal, driven through tmux: the interactive shell (its
# prompt, commands, help, an unknown word, history kept in
# ~/.pvctl_history, quit) and the confirmation of delete.
#
set -u
umask 022
. "$(dirname "$0")/lib.sh"

t_require
command -v tmux >/dev/null 2>&1 ||
    t_skip_all "needs tmux (apt-get install tmux) to drive a terminal"
pv_single
echo "hello" >"$D/hello.txt"
pvctl store "$D/hello.txt" >/dev/null

S="pvregress$$"
export TMUX_TMPDIR="$D"
screen() {
	tmux capture-pane -p -t "$S" 2>/dev/null
}
screen_has() {
	screen | grep -qF -- "$1"
}
# type a line, then wait for what it should show
type_line() {
	tmux send-keys -t "$S" -l "$1"
	tmux send-keys -t "$S" Enter
}
tmux_stop() {
	tmux kill-server 2>/dev/null
}
trap 'tmux_stop; t_cleanup' EXIT

# Killing the last session ends the tmux server, and a new-session that
# races with that exit fails with "server exited unexpectedly".  One idle
# session keeps the server up until tmux_stop.
tmux new-session -d -s "keep$$" -x 80 -y 24 "sleep 600"

mkdir -p "$D/home"
tmux new-session -d -s "$S" -x 160 -y 50 \
    "HOME='$D/home' '$PVCTL' -s '$PV_SOCK'; echo shell-ended; sleep 30"
t_wait 5 screen_has "PeerVault>"
t_check "the shell shows its prompt PeerVault>" screen_has "PeerVault>"
type_line "list"
t_wait 5 screen_has "hello.txt"
t_check "list in the shell shows the stored file" screen_has "hello.txt"
type_line "frob"
t_wait 5 screen_has "Unknown command: frob"
t_check "an unknown word: Unknown command: frob" \
    screen_has "Unknown command: frob"
type_line "help"
t_wait 5 screen_has "quota"
t_check "help lists the commands" screen_has "store"
type_line "get nope"
t_wait 5 screen_has "no such file"
t_check "an error is printed and the shell goes on" \
    screen_has "no such file"
type_line "quit"
t_wait 5 screen_has "shell-ended"
t_check "quit ends the shell" screen_has "shell-ended"
t_check "the history is kept in ~/.pvctl_history" \
    grep -q "frob" "$D/home/.pvctl_history"
tmux kill-session -t "$S" 2>/dev/null

# delete asks on a terminal; n keeps the file, y deletes it
tmux new-session -d -s "$S" -x 160 -y 50 \
    "'$PVCTL' -s '$PV_SOCK' delete hello.txt; echo rc=\$?; sleep 30"
t_wait 5 screen_has "(y/N)"
t_check "delete asks (y/N) on a terminal" screen_has "(y/N)"
type_line "n"
t_wait 5 screen_has "rc="
t_check "answering n keeps the file" \
    eval 'pvctl -j list | jq -e ".[] | select(.name == \"hello.txt\")" >/dev/null'
tmux kill-session -t "$S" 2>/dev/null
tmux new-session -d -s "$S" -x 160 -y 50 \
    "'$PVCTL' -s '$PV_SOCK' delete hello.txt; echo rc=\$?; sleep 30"
t_wait 5 screen_has "(y/N)"
type_line "y"
t_wait 5 screen_has "rc=0"
t_check "answering y deletes it" screen_has "rc=0"
t_is "the file is gone" 0 "$(pvctl -j list | jq length)"
tmux kill-session -t "$S" 2>/dev/null

t_done
