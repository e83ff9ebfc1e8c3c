#!/bin/sh
# Install what building and testing PeerVault needs on Debian 12 (as root).
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential autoconf automake pkg-config bison \
	libssl-dev libevent-dev libsqlite3-dev libbsd-dev libseccomp-dev \
	libedit-dev check \
	mandoc clang libclang-rt-14-dev \
	openssl jq procps iproute2 util-linux passwd systemd sqlite3 tmux bc
