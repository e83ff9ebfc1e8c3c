#!/bin/sh
# Start one PeerVault node from the build tree, with the built-in defaults
# except that its data, key and control socket live in a new temporary
# directory, and show `pvctl status`.  The node keeps running; the last
# lines say how to stop it.
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
until "$build/pvctl/pvctl" -s "$tmp/pvd.sock" status >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || { echo "demo: pvd did not come up" >&2; exit 1; }
	sleep 0.1
done
echo "\$ pvctl -s $tmp/pvd.sock status"
"$build/pvctl/pvctl" -s "$tmp/pvd.sock" status
pid=$("$build/pvctl/pvctl" -s "$tmp/pvd.sock" -j status |
    sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' | head -n 1)
echo
echo "PeerVault is running (pvd pid $pid). Stop it and clean up with:"
echo "  kill $pid && rm -rf $tmp"
