#!/bin/sh
# Start one PeerVault node from the build tree, with the built-in defaults
# except that its data, key and control socket live in a new temporary
# directory, show `pvctl status`, store a file, list it and get it back.
# The node keeps running; the last lines say how to stop it.
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
cat > "$tmp/pvd.conf" <<CONF
# the built-in defaults, but for these three paths
data "$tmp/data"
key "$tmp/network.key"
socket "$tmp/pvd.sock"
CONF

PV_LIBEXEC_DIR="$tmp/libexec" "$build/pvd/pvd" -f "$tmp/pvd.conf"
i=0
# ready: pvd answers and its four processes run
until [ "$("$build/pvctl/pvctl" -s "$tmp/pvd.sock" -j status 2>/dev/null |
    grep -c '"state": "running"')" -eq 4 ]; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "demo: pvd did not come up" >&2; exit 1; }
	sleep 0.1
done
pvctl() {
	echo "\$ pvctl $*"
	"$build/pvctl/pvctl" -s "$tmp/pvd.sock" "$@"
}
pvctl status
echo
head -c 3000000 /dev/urandom >"$tmp/report.bin"
pvctl store "$tmp/report.bin"
pvctl list
pvctl get report.bin "$tmp/report.back"
echo "\$ sha256sum report.bin report.back"
(cd "$tmp" && sha256sum report.bin report.back)
pid=$("$build/pvctl/pvctl" -s "$tmp/pvd.sock" -j status |
    sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1)
echo
echo "PeerVault is running (pvd pid $pid). Stop it and clean up with:"
echo "  kill $pid && rm -rf $tmp"
