#!/bin/sh
# Start a three-node PeerVault network on 127.0.0.1 from the build tree:
# each node has its own port, data directory and control socket in a new
# temporary directory, and all three share one network key.  Store a
# file on node 1, show `pvctl peers` and `pvctl list` on node 3, get the
# file back on node 3 and compare the sha256 sums.  The nodes keep
# running; the last lines say how to stop them.
set -eu
build=${1:-.}
build=$(cd "$build" && pwd)
for b in pvd/pvd pvctl/pvctl pv-storaged/pv-storaged pv-netd/pv-netd \
    pv-discoverd/pv-discoverd; do
	[ -x "$build/$b" ] || { echo "demo: $build/$b missing: build first" >&2; exit 1; }
done

if [ "$(id -u)" -eq 0 ] && ! getent passwd _peervault >/dev/null; then
	echo "demo: creating the system user _peervault"
	useradd --system --home-dir /var/empty --no-create-home \
	    --shell /usr/sbin/nologin --user-group _peervault
fi

tmp=$(mktemp -d /tmp/peervault-demo.XXXXXX)
chmod 755 "$tmp"
mkdir "$tmp/libexec"
for b in pv-storaged pv-netd pv-discoverd; do
	ln -s "$build/$b/$b" "$tmp/libexec/$b"
done
# one network key for the three nodes: 32 random bytes as hex
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 -v | tr -d ' \n' \
    >"$tmp/network.key")

# a free port in 20000-40000 for each node
free_port() {
	while :; do
		p=$(($(od -An -tu2 -N2 /dev/urandom) % 20000 + 20000))
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . || break
	done
	echo "$p"
}
p1=$(free_port)
p2=$(free_port)
while [ "$p2" = "$p1" ]; do p2=$(free_port); done
p3=$(free_port)
while [ "$p3" = "$p1" ] || [ "$p3" = "$p2" ]; do p3=$(free_port); done

# node N listens on its port and bootstraps from the two others
conf() {
	n=$1 port=$2 a=$3 b=$4
	mkdir -p "$tmp/n$n"
	cat >"$tmp/n$n/pvd.conf" <<CONF
listen on 127.0.0.1 port $port
data "$tmp/n$n/data"
key "$tmp/network.key"
socket "$tmp/n$n/pvd.sock"
bootstrap "127.0.0.1" port $a
bootstrap "127.0.0.1" port $b
CONF
}
conf 1 "$p1" "$p2" "$p3"
conf 2 "$p2" "$p1" "$p3"
conf 3 "$p3" "$p1" "$p2"

ctl() {
	n=$1
	shift
	"$build/pvctl/pvctl" -s "$tmp/n$n/pvd.sock" "$@"
}
# wait until CMD succeeds, at most 30 s
until_ok() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "demo: timed out: $*" >&2; exit 1; }
		sleep 0.1
	done
}
running4() {
	[ "$(ctl "$1" -j status 2>/dev/null | grep -c '"state": "running"')" -eq 4 ]
}
for n in 1 2 3; do
	PV_LIBEXEC_DIR="$tmp/libexec" "$build/pvd/pvd" -f "$tmp/n$n/pvd.conf"
	until_ok running4 "$n"
done
peers2() {
	ctl "$1" -j status | grep -q '"peers": 2'
}
for n in 1 2 3; do
	until_ok peers2 "$n"
done

show() {
	n=$1
	shift
	echo "\$ pvctl $* (node $n)"
	ctl "$n" "$@"
}
show 1 status
echo
head -c 3000000 /dev/urandom >"$tmp/report.bin"
show 1 store "$tmp/report.bin"
synced() {
	ctl "$1" -j list | grep -q '"name": "report.bin"' &&
	    ctl "$1" -j status | grep -q '"pending": 0'
}
until_ok synced 3
echo
show 3 peers
echo
show 3 list
show 3 get report.bin "$tmp/report.node3"
echo "\$ sha256sum report.bin report.node3"
(cd "$tmp" && sha256sum report.bin report.node3)

pids=
for n in 1 2 3; do
	pids="$pids $(ctl "$n" -j status |
	    sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1)"
done
echo
echo "Three PeerVault nodes are running (pvd pids$pids), with their"
echo "control sockets in $tmp/n1, n2 and n3; for example:"
echo "  $build/pvctl/pvctl -s $tmp/n2/pvd.sock list"
echo "Stop them and clean up with:"
echo "  kill$pids && rm -rf $tmp"
